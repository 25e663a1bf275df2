"""Hooks and model state for the interpretation methods, always undone.

Every method of :mod:`lecture21.interpret` runs the model inside :func:`explaining`, which puts
it in eval mode, switches off ``requires_grad`` on its parameters (only the input or a layer's
output needs a gradient) and restores both on the way out, even when the call raises. Forward
hooks live in :func:`capture`, which removes them in a ``finally`` block. Guided backprop and the
deconvnet need a different ReLU backward: :class:`ReluOverride` swaps every ReLU of the forward
pass (``nn.ReLU`` modules, in-place or not, ``F.relu``, ``torch.relu``, ``Tensor.relu``) through a
``TorchFunctionMode``, so no module is edited and nothing stays behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from lecture21.helpers import eval_mode, model_device  # noqa: F401 (model_device: re-exported)

__all__ = [
    "Captured",
    "ReluOverride",
    "capture",
    "check_batch",
    "check_target",
    "explaining",
    "model_device",
    "resolve_layer",
]


def check_batch(x: object) -> torch.Tensor:
    """``x`` must be a non-empty batch of finite floats (B, C, H, W): a NaN input gives NaN
    logits, whose gradients would still draw plausible-looking maps (issue 11, item 5)."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim != 4:
        got = f"{x.dtype} tensor of shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else (
            type(x).__name__
        )
        raise ValueError(f"x must be a float tensor (B, C, H, W), got {got}")
    if x.numel() == 0:
        raise ValueError(f"x must hold at least one image, got shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).flatten(1).any(1).nonzero()[0])
        raise ValueError(f"x must be finite, but image {bad} holds NaN or infinite values")
    return x


def check_target(target: object, batch: int, num_classes: int | None = None) -> torch.Tensor:
    """An int or B class indices -> LongTensor (B,); ``ValueError`` for a bad length or class."""
    if isinstance(target, bool):
        raise ValueError(f"target must be an int or a LongTensor of class indices, got {target!r}")
    if isinstance(target, int):
        target = torch.full((batch,), target, dtype=torch.long)
    elif isinstance(target, (list, tuple)):
        target = torch.tensor(target, dtype=torch.long)
    if not isinstance(target, torch.Tensor) or target.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"target must be an int or a LongTensor of class indices, got {target!r}")
    target = target.long().reshape(-1).cpu() if target.ndim == 0 else target.long().cpu()
    if target.ndim != 1 or len(target) not in (1, batch):
        raise ValueError(
            f"target must hold one class per sample: the batch has {batch}, "
            f"target has shape {tuple(target.shape)}"
        )
    if batch < 1:
        raise ValueError("the batch is empty: explain at least one image")
    target = target.expand(batch)
    if target.min() < 0 or (num_classes is not None and target.max() >= num_classes):
        classes = "the number of classes" if num_classes is None else num_classes
        raise ValueError(
            f"target must lie in [0, {classes}), got values from {int(target.min())} "
            f"to {int(target.max())}"
        )
    return target


def resolve_layer(model: nn.Module, layer: nn.Module | str) -> nn.Module:
    """``layer`` as a module of ``model``: a module itself or its dotted name (``"layer4.1"``)."""
    if isinstance(layer, str):
        try:
            return model.get_submodule(layer)
        except AttributeError as error:
            raise ValueError(f"layer {layer!r} is not a submodule of the model") from error
    if isinstance(layer, nn.Module):
        if any(m is layer for m in model.modules()):
            return layer
        raise ValueError(f"layer {type(layer).__name__} is not a module of the model")
    raise ValueError(f"layer must be a module or its dotted name, got {type(layer).__name__}")


@contextlib.contextmanager
def explaining(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and frozen parameters for the duration; both restored even on error.

    Eval mode matters: batch norm must use its running statistics so that each sample of a
    batch is explained on its own (per-sample targets would otherwise mix).
    """
    flags = [(p, p.requires_grad) for p in model.parameters()]
    with eval_mode(model):
        try:
            for p, _ in flags:
                p.requires_grad_(False)
            yield model
        finally:
            for p, flag in flags:
                p.requires_grad_(flag)


@dataclass
class Captured:
    """What :func:`capture` saw: the layer's output (before any later in-place change)."""

    output: torch.Tensor | None = None
    calls: int = 0
    outputs: list[torch.Tensor] = field(default_factory=list)


@contextlib.contextmanager
def capture(module: nn.Module, keep_all: bool = False) -> Iterator[Captured]:
    """Record ``module``'s output with a forward hook that is removed on exit.

    The hook hands the rest of the network a *clone* of the output and keeps the original: an
    in-place ReLU after the layer (DenseNet's ``F.relu(features, inplace=True)``, torchvision's
    ``nn.ReLU(inplace=True)``) then changes the clone, and the recorded activation and its
    gradient stay those of the layer itself.
    """
    seen = Captured()

    def hook(_module: nn.Module, _inputs: tuple, output: object) -> torch.Tensor:
        if not isinstance(output, torch.Tensor):
            raise ValueError(
                f"layer {type(_module).__name__} returns {type(output).__name__}, not a tensor"
            )
        seen.output, seen.calls = output, seen.calls + 1
        if keep_all:
            seen.outputs.append(output)
        return output.clone()

    handle = module.register_forward_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


_RELU_FUNCTIONS = {
    F.relu, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_, F.relu_,
}


class ReluOverride(TorchFunctionMode):
    """Inside ``with ReluOverride(fn):`` every ReLU of the forward pass returns ``fn(x)``.

    ``fn`` is an autograd function with the same forward as ReLU and its own backward. The
    in-place forms return a new tensor instead of changing ``x``; every module that uses the
    result (``x = self.relu(x)``, as ``nn.ReLU`` and torchvision / timm code do) is unaffected.
    Module hooks cannot do this on in-place ReLU: a backward hook on an ``nn.ReLU(inplace=True)``
    fails or sees the wrong tensor, which is why captum breaks there.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn
        self.replaced = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _RELU_FUNCTIONS:
            self.replaced += 1
            return self.fn(args[0])
        return func(*args, **kwargs)
