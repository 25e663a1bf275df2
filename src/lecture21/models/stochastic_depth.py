"""Stochastic depth (Huang et al., "Deep Networks with Stochastic Depth", ECCV 2016).

Slide "Стохастическая глубина": while training, each residual block ``l`` of ``L`` is kept with
probability ``p_l`` and otherwise replaced by its shortcut, so the expected depth shrinks and
each step is cheaper; at test time the full network runs with every branch scaled by its
``p_l``. The paper's "linear decay rule" (eq. 4): ``p_l = 1 - l / L * (1 - p_L)``, with
``p_L = 0.5`` for the last block. The mechanism itself lives in
:class:`lecture21.models.resnet.ResidualBlock`; this file sets the probabilities.
"""

from __future__ import annotations

from torch import nn


def linear_decay(num_blocks: int, last: float = 0.5) -> list[float]:
    """Survival probabilities ``p_1 .. p_L`` of eq. 4 of the paper (``p_0 = 1`` is the input)."""
    if not isinstance(num_blocks, int) or num_blocks < 1:
        raise ValueError(f"num_blocks must be a positive int, got {num_blocks!r}")
    if not 0.0 < last <= 1.0:
        raise ValueError(f"last (the survival probability p_L) must be in (0, 1], got {last!r}")
    return [1.0 - index / num_blocks * (1.0 - last) for index in range(1, num_blocks + 1)]


def apply_stochastic_depth(model: nn.Module, last: float = 0.5) -> nn.Module:
    """Give the residual blocks of ``model``, in the order the input meets them, the survival
    probabilities of the linear decay rule ending at ``last``; returns ``model``."""
    from lecture21.models.resnet import ResidualBlock

    blocks = [m for m in model.modules() if isinstance(m, ResidualBlock)]
    if not blocks:
        raise ValueError("model has no residual blocks: stochastic depth needs some")
    if not all(block.residual for block in blocks):
        raise ValueError("stochastic depth needs shortcuts: a plain block cannot be skipped")
    for block, survival in zip(blocks, linear_decay(len(blocks), last), strict=True):
        block.survival = survival
    return model
