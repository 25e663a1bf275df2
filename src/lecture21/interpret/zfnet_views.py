"""What Zeiler and Fergus (2014) showed: first-layer filters and the activations of layers.

Slide "Визуализация фильтров и активаций": the first layer's filters are small colour images
(edges, colour blobs, Gabor-like stripes); deeper layers' activations respond to ever larger,
more specific patterns.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch
from torch import nn

from lecture21.helpers import minmax
from lecture21.interpret.hooks import capture, check_batch, explaining, model_device, resolve_layer

__all__ = ["activations", "first_layer_filters", "strongest_channels"]


def first_layer_filters(model: nn.Module) -> torch.Tensor:
    """The first ``Conv2d``'s filters as RGB images (K, kh, kw, 3) in [0, 1], each scaled alone."""
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None:
        raise ValueError("the model has no Conv2d layer")
    if conv.in_channels != 3:
        raise ValueError(f"the first Conv2d must take 3 colour channels, got {conv.in_channels}")
    w = conv.weight.detach().cpu().float()
    return minmax(w, eps=1e-12).permute(0, 2, 3, 1)


def activations(
    model: nn.Module, x: torch.Tensor, layers: Sequence[nn.Module | str]
) -> dict[str, torch.Tensor]:
    """The outputs of ``layers`` (by name) for input ``x``, on the CPU; hooks removed after."""
    x = check_batch(x)
    modules = [(str(layer), resolve_layer(model, layer)) for layer in layers]
    names = {m: n for n, m in model.named_modules()}
    seen = {}
    with explaining(model), torch.no_grad(), contextlib.ExitStack() as hooks:
        captured = [hooks.enter_context(capture(module)) for _, module in modules]
        model(x.to(model_device(model)))
    for (_, module), record in zip(modules, captured, strict=True):
        if record.output is None:
            raise ValueError(f"layer {names[module]!r} did not run in the forward pass")
        seen[names[module]] = record.output.detach().cpu()
    return seen


def strongest_channels(activation: torch.Tensor, k: int = 8) -> torch.Tensor:
    """Indices of the ``k`` channels with the largest mean activation of a (1, K, h, w) map."""
    if activation.ndim != 4 or len(activation) != 1:
        raise ValueError(f"activation must be (1, K, h, w), got {tuple(activation.shape)}")
    return activation[0].mean((1, 2)).topk(min(k, activation.shape[1])).indices
