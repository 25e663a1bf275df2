"""Gradient methods of the slide "Градиентные методы": saliency, guided backprop, deconvnet.

All three differentiate the class score ``S_c(x)`` (the logit, before softmax) with respect to
the input and differ only in what the backward pass does at each ReLU:

* saliency (Simonyan et al., 2013): the ordinary gradient; the map is ``max_k |dS_c/dx_k|``
  over the colour channels k;
* deconvnet (Zeiler and Fergus, 2014): ReLU of the *incoming* gradient, whatever the forward
  input was;
* guided backprop (Springenberg et al., 2014): both -- the gradient passes where the forward
  input was positive *and* the incoming gradient is positive.
"""

from __future__ import annotations

import torch
from torch import nn

from lecture21.interpret.hooks import (
    ReluOverride,
    check_batch,
    check_target,
    explaining,
    model_device,
)

__all__ = ["class_scores", "deconvnet", "guided_backprop", "input_gradient", "saliency"]


def class_scores(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The logits ``S_c(x)`` of each sample's own class (B,); checks the output and the target."""
    logits = model(x)
    if logits.ndim != 2:
        raise ValueError(f"the model must return logits (B, classes), got {tuple(logits.shape)}")
    target = check_target(target, len(x), logits.shape[1]).to(logits.device)
    return logits.gather(1, target[:, None])[:, 0]


def input_gradient(
    model: nn.Module, x: torch.Tensor, target: int | torch.Tensor
) -> torch.Tensor:
    """``dS_c / dx`` (B, C, H, W) for each sample's target, on the model's device.

    The scores are summed before differentiating: in eval mode the samples do not interact, so
    the gradient of the sum with respect to sample i is that of sample i's own score.
    """
    x = check_batch(x)
    check_target(target, len(x))
    with explaining(model):
        x = x.detach().to(model_device(model)).requires_grad_(True)
        scores = class_scores(model, x, target)
        (grad,) = torch.autograd.grad(scores.sum(), x)
    return grad.detach().cpu()


def saliency(model: nn.Module, x: torch.Tensor, target: int | torch.Tensor) -> torch.Tensor:
    """The saliency map (B, H, W): ``max`` over colour channels of ``|dS_c / dx|``.

    Simonyan, Vedaldi, Zisserman (2013), eq. (3) of "Deep inside convolutional networks".
    """
    return input_gradient(model, x, target).abs().amax(dim=1)


class _GuidedReLU(torch.autograd.Function):
    """ReLU forward; backward passes gradient only where input > 0 and gradient > 0."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad.clamp(min=0) * (x > 0)


class _DeconvReLU(torch.autograd.Function):
    """ReLU forward; backward is the ReLU of the incoming gradient (the deconvnet's rule)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad.clamp(min=0)


def _modified_gradient(
    model: nn.Module, x: torch.Tensor, target: int | torch.Tensor, relu: type
) -> torch.Tensor:
    x = check_batch(x)
    check_target(target, len(x))
    with explaining(model):
        x = x.detach().to(model_device(model)).requires_grad_(True)
        override = ReluOverride(relu.apply)
        with override:
            scores = class_scores(model, x, target)
        if override.replaced == 0:
            raise ValueError(
                "the model runs no ReLU (nn.ReLU, F.relu, torch.relu): guided backprop and the "
                "deconvnet are defined only for ReLU networks"
            )
        (grad,) = torch.autograd.grad(scores.sum(), x)
    return grad.detach().cpu()


def guided_backprop(
    model: nn.Module, x: torch.Tensor, target: int | torch.Tensor
) -> torch.Tensor:
    """Guided backpropagation (B, C, H, W) (Springenberg et al., 2014, "Striving for simplicity").

    Every ReLU of the forward pass is replaced through :class:`~.hooks.ReluOverride`: ``nn.ReLU``
    modules (in-place ones too), functional ``F.relu`` / ``F.relu_``, ``torch.relu`` and
    ``Tensor.relu``. captum's ``GuidedBackprop`` hooks only ``nn.ReLU`` modules, so on a model
    that calls ``F.relu`` it silently returns the plain gradient; ours gives the guided one.
    A model with no ReLU at all raises ``ValueError``. Other activations (GELU, SiLU) are left
    as they are.
    """
    return _modified_gradient(model, x, target, _GuidedReLU)


def deconvnet(model: nn.Module, x: torch.Tensor, target: int | torch.Tensor) -> torch.Tensor:
    """The deconvnet's reconstruction (B, C, H, W) (Zeiler and Fergus, 2014), as a backward pass.

    Each ReLU passes back the ReLU of the incoming signal and ignores its forward input; max
    pooling routes through its switches (the ordinary max-pool backward), convolutions through
    the transposed filters -- which is Zeiler and Fergus's deconvnet. ReLU handling as in
    :func:`guided_backprop` (functional ReLU included, no-ReLU models refused).
    """
    return _modified_gradient(model, x, target, _DeconvReLU)
