"""Grad-CAM and guided Grad-CAM (Selvaraju et al., 2017), slide "Градиентные методы".

For a convolutional layer with maps ``A^k`` (h x w) the weight of map k for class c is the mean
of the score's gradient over the map, ``alpha_k^c = mean_ij dS_c / dA^k_ij``, and the map is
``ReLU(sum_k alpha_k^c A^k)`` at the layer's resolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lecture21.helpers import minmax
from lecture21.interpret.gradients import class_scores, guided_backprop
from lecture21.interpret.hooks import (
    capture,
    check_batch,
    check_target,
    explaining,
    model_device,
    resolve_layer,
)

__all__ = ["grad_cam", "guided_grad_cam", "layer_activation_and_gradient", "minmax"]


def layer_activation_and_gradient(
    model: nn.Module, x: torch.Tensor, target: int | torch.Tensor, layer: nn.Module | str
) -> tuple[torch.Tensor, torch.Tensor]:
    """The layer's output ``A`` (B, K, h, w) and ``dS_c / dA``, with every hook removed after."""
    x = check_batch(x)
    check_target(target, len(x))
    module = resolve_layer(model, layer)
    with explaining(model), capture(module) as seen:
        x = x.detach().to(model_device(model)).requires_grad_(True)
        scores = class_scores(model, x, target)
        if seen.output is None:
            raise ValueError(f"layer {layer!r} did not run in the model's forward pass")
        if seen.calls > 1:
            raise ValueError(
                f"layer {layer!r} runs {seen.calls} times in one forward pass (a shared module): "
                "name one call site's own module"
            )
        activation = seen.output
        if activation.ndim != 4:
            raise ValueError(
                f"layer {layer!r} has no spatial output: Grad-CAM needs (B, K, h, w), "
                f"got {tuple(activation.shape)}"
            )
        (gradient,) = torch.autograd.grad(scores.sum(), activation)
    return activation.detach(), gradient


def grad_cam(
    model: nn.Module,
    x: torch.Tensor,
    target: int | torch.Tensor,
    layer: nn.Module | str,
    upsample: bool = False,
) -> torch.Tensor:
    """Grad-CAM maps (B, h, w) at the layer's resolution, ReLU applied, not normalised, on the
    CPU (the package's convention for every map).

    With ``upsample=True`` the maps are resized bilinearly to the input's (H, W). Equal to
    captum's ``LayerGradCam(model, layer).attribute(x, target, relu_attributions=True)``.
    """
    activation, gradient = layer_activation_and_gradient(model, x, target, layer)
    alpha = gradient.mean(dim=(2, 3), keepdim=True)  # alpha_k^c: global-average-pooled gradient
    cam = (alpha * activation).sum(dim=1).clamp(min=0)
    if upsample:
        cam = F.interpolate(cam[:, None], size=x.shape[-2:], mode="bilinear", align_corners=False)
        cam = cam[:, 0]
    return cam.detach().cpu()


def guided_grad_cam(
    model: nn.Module,
    x: torch.Tensor,
    target: int | torch.Tensor,
    layer: nn.Module | str,
    mode: str = "bilinear",
) -> torch.Tensor:
    """Guided Grad-CAM (B, C, H, W): guided backprop times the Grad-CAM map resized to (H, W).

    Selvaraju et al. (2017) resize bilinearly; captum's ``GuidedGradCam`` uses nearest by
    default (pass ``mode="nearest"`` to match it).
    """
    if mode not in ("bilinear", "nearest"):
        raise ValueError(f"mode must be 'bilinear' or 'nearest', got {mode!r}")
    cam = grad_cam(model, x, target, layer)
    kwargs = {"align_corners": False} if mode == "bilinear" else {}
    cam = F.interpolate(cam[:, None], size=x.shape[-2:], mode=mode, **kwargs)
    return guided_backprop(model, x, target) * cam
