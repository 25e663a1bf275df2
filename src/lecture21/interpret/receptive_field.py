"""Receptive fields, slide "Визуализация рецептивных полей".

The *theoretical* receptive field of a unit is the input window it can see. For a chain of
layers with kernel k_l, stride s_l and dilation d_l (Araujo et al., 2019, eqs. 1-2):
``r_L = 1 + sum_l (k_l - 1) d_l prod_{i<l} s_i`` and the step between neighbouring units is
``j_L = prod_l s_l``. The *effective* receptive field (Luo et al., 2016) is where the gradient of
one centre unit with respect to the input is large: Gaussian-like, much smaller than r_L.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lecture21.interpret.hooks import capture, check_batch, explaining, model_device, resolve_layer

__all__ = ["ReceptiveField", "effective_receptive_field", "receptive_field", "receptive_fields"]

_SPATIAL = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
# Layers that keep the map's geometry: they neither grow the field nor change the step.
_POINTWISE = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Identity,
    nn.BatchNorm2d, nn.GroupNorm, nn.LocalResponseNorm, nn.Dropout, nn.Dropout2d,
)


@dataclass(frozen=True)
class ReceptiveField:
    """Side ``size`` of a unit's input window, ``stride`` between neighbouring units' windows,
    and ``start``: the centre of the first unit's window in input pixels (negative when padded).
    """

    name: str
    size: int
    stride: int
    start: float


def _pair(value: int | tuple[int, ...]) -> int:
    if isinstance(value, tuple):
        if len(set(value)) != 1:
            raise ValueError(f"only square kernels/strides are supported, got {value!r}")
        return int(value[0])
    return int(value)


def receptive_fields(model: nn.Module) -> list[ReceptiveField]:
    """The receptive field after every spatial leaf layer of a sequential-style CNN.

    The leaf modules are taken in the order they are registered, which is the order they run
    in sequential networks (AlexNet, ZFNet, VGG, our SimpleCNN). A branching network (ResNet,
    Inception) cannot be described by one chain: do not use it there. The walk stops at the
    first layer that ends the spatial part (Linear, Flatten, adaptive pooling).
    """
    size, stride, start = 1, 1, 0.5
    fields = []
    for name, module in model.named_modules():
        if list(module.children()):
            continue
        if isinstance(module, _SPATIAL):
            k, s = _pair(module.kernel_size), _pair(module.stride)
            d = _pair(getattr(module, "dilation", 1))
            p = _pair(module.padding)
            size += (k - 1) * d * stride
            start += ((k - 1) * d / 2 - p) * stride
            stride *= s
            fields.append(ReceptiveField(name, size, stride, start))
        elif isinstance(module, _POINTWISE):
            fields.append(ReceptiveField(name, size, stride, start))
        else:
            break
    return fields


def receptive_field(model: nn.Module, layer: nn.Module | str) -> ReceptiveField:
    """The theoretical receptive field of ``layer``'s units (see :func:`receptive_fields`)."""
    module = resolve_layer(model, layer)
    names = {m: n for n, m in model.named_modules()}
    leaves = [names[m] for m in module.modules() if not list(m.children())] or [names[module]]
    fields = {f.name: f for f in receptive_fields(model)}
    if leaves[-1] not in fields:
        raise ValueError(
            f"layer {layer!r} is not in the spatial, sequential part of the model "
            f"(known layers: {', '.join(fields) or 'none'})"
        )
    return fields[leaves[-1]]


def effective_receptive_field(
    model: nn.Module, x: torch.Tensor, layer: nn.Module | str
) -> torch.Tensor:
    """|d(centre unit of ``layer``, summed over channels) / d input|, averaged over the batch.

    Returns an (H, W) map (Luo et al., 2016). Average over many inputs (random or real) to see
    the smooth, Gaussian-like shape.
    """
    x = check_batch(x)
    module = resolve_layer(model, layer)
    with explaining(model), capture(module) as seen:
        x = x.detach().to(model_device(model)).requires_grad_(True)
        model(x)
        out = seen.output
        if out is None or out.ndim != 4:
            raise ValueError(f"layer {layer!r} has no spatial output (B, K, h, w)")
        centre = out[:, :, out.shape[2] // 2, out.shape[3] // 2].sum()
        (grad,) = torch.autograd.grad(centre, x)
    return grad.abs().sum(1).mean(0).detach().cpu()
