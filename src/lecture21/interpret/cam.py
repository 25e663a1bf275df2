"""Class Activation Mapping (Zhou, Khosla, Lapedriza, Oliva, Torralba 2016, "Learning deep
features for discriminative localization"), slide "CAM" after GoogLeNet.

For a network that ends in global average pooling and one linear layer (GoogLeNet, ResNet),
the score of class c is ``S_c = sum_k w_k^c * mean_{x,y} f_k(x, y) + b_c``. Moving the sum over
positions outside gives the class activation map ``M_c(x, y) = sum_k w_k^c f_k(x, y)`` (eq. 2
of the paper): ``S_c = mean_{x,y} M_c(x, y) + b_c``. No gradient and no retraining are needed,
only the last convolutional maps and the class's row of the last layer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lecture21.interpret.hooks import (
    capture,
    check_batch,
    check_target,
    explaining,
    model_device,
    resolve_layer,
)

__all__ = ["cam", "cam_and_logits"]


def _last_linear(model: nn.Module) -> nn.Linear:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("the model has no nn.Linear layer: pass fc= explicitly")
    return linears[-1]


def cam_and_logits(
    model: nn.Module,
    x: torch.Tensor,
    target: int | torch.Tensor,
    layer: nn.Module | str,
    fc: nn.Linear | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw class activation maps ``(B, h, w)`` at the resolution of ``layer`` and the logits.

    ``layer`` is the last convolutional block (its output is what global average pooling
    averages), ``fc`` the linear layer after the pooling (default: the model's last
    ``nn.Linear``). ``target`` is a class index or one per sample.
    """
    x = check_batch(x)
    fc = _last_linear(model) if fc is None else resolve_layer(model, fc)
    if not isinstance(fc, nn.Linear):
        raise ValueError(f"fc must be an nn.Linear, got {type(fc).__name__}")
    target = check_target(target, len(x), fc.out_features)
    module = resolve_layer(model, layer)
    with explaining(model), capture(module) as seen, torch.no_grad():
        logits = model(x.to(model_device(model)))
        features = seen.output
    if features is None or features.ndim != 4:
        raise ValueError(f"layer {layer!r} must output feature maps (B, K, h, w)")
    if features.shape[1] != fc.in_features:
        raise ValueError(
            f"layer {layer!r} has {features.shape[1]} channels but fc takes "
            f"{fc.in_features} features: CAM needs global average pooling between them"
        )
    weights = fc.weight[target.to(fc.weight.device)]  # (B, K): the class's row
    maps = torch.einsum("bk,bkhw->bhw", weights, features)
    return maps, logits


def cam(
    model: nn.Module,
    x: torch.Tensor,
    target: int | torch.Tensor,
    layer: nn.Module | str,
    fc: nn.Linear | str | None = None,
    upsample: bool = False,
) -> torch.Tensor:
    """Class activation maps ``(B, h, w)`` at the layer's resolution, on the CPU; with
    ``upsample=True`` bilinearly resized to the input's size (as in the paper), like
    :func:`grad_cam`. Values are the raw ``M_c``: not clipped, not normalised."""
    maps, _ = cam_and_logits(model, x, target, layer, fc)
    if upsample:
        maps = F.interpolate(maps[:, None], size=x.shape[-2:], mode="bilinear",
                             align_corners=False)[:, 0]
    return maps.detach().cpu()
