"""How big and how expensive a model is: parameters, multiply-adds (MACs), FLOPs.

Papers count multiply-adds; ``torch.utils.flop_counter`` counts FLOPs = 2 x MACs for
convolutions and matrix products. Both are reported, split by the kind of layer, because the
slide "Особенности CNN" says that convolutions hold the computation and the MLP the parameters.
"""

from __future__ import annotations

from collections import Counter

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def layer_kind(module: nn.Module) -> str:
    """``"conv"`` for convolutions, ``"fc"`` for fully connected layers, else ``"other"``."""
    if isinstance(module, _CONV):
        return "conv"
    if isinstance(module, nn.Linear):
        return "fc"
    return "other"


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """The number of parameters (shared ones counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def parameter_split(model: nn.Module) -> dict[str, int]:
    """Parameters by layer kind: ``{"conv": ..., "fc": ..., "other": ..., "total": ...}``."""
    split: Counter[str] = Counter({"conv": 0, "fc": 0, "other": 0})
    for module in model.modules():
        own = sum(p.numel() for p in module.parameters(recurse=False))
        split[layer_kind(module)] += own
    split["total"] = count_parameters(model)
    return dict(split)


def flop_split(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, int]:
    """FLOPs of one forward pass of a batch of ``input_shape`` by kind: conv, fc, other, total.

    Counted by ``torch.utils.flop_counter.FlopCounterMode`` on a zero input in eval mode;
    ``convolution`` ops count as conv, matrix products (``addmm``, ``mm``, ``bmm``) as fc.
    """
    if len(input_shape) < 3:
        raise ValueError(f"input_shape must be (batch, channels, ...), got {input_shape!r}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model(torch.zeros(input_shape, device=device))
    finally:
        model.train(was_training)
    split: Counter[str] = Counter({"conv": 0, "fc": 0, "other": 0})
    for op, flops in counter.get_flop_counts()["Global"].items():
        name = str(op)
        if "convolution" in name:
            split["conv"] += flops
        elif any(k in name for k in ("addmm", ".mm", "bmm", "matmul", "linear")):
            split["fc"] += flops
        else:
            split["other"] += flops
    split["total"] = sum(split[k] for k in ("conv", "fc", "other"))
    return dict(split)


def mac_split(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, int]:
    """Multiply-adds (what papers count) = FLOPs / 2, by kind, for one forward pass."""
    return {k: v // 2 for k, v in flop_split(model, input_shape).items()}
