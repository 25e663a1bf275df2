"""Evaluation and prediction: logits in batches, in eval mode, with optional flip TTA."""

from __future__ import annotations

import torch
from torch import nn

from lecture21.config import get_device
from lecture21.data import normalize
from lecture21.data.base import check_labels
from lecture21.helpers import eval_mode, model_device
from lecture21.train.precision import Precision
from lecture21.train.precision import autocast as precision_autocast

__all__ = ["autocast", "evaluate", "predict", "to_input"]


def autocast(device: torch.device, precision: Precision | str | None = None):
    """The mixed precision of a forward pass: what the device supports (``precision.py``)."""
    return precision_autocast(device, precision)


def resolve_device(device: torch.device | str | None) -> torch.device:
    return device if isinstance(device, torch.device) else get_device(device)


def to_input(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 NHWC images -> normalised float NCHW in channels_last memory; others unchanged."""
    x = x.to(device, non_blocking=True)
    if x.dtype == torch.uint8:
        # normalize() permutes NHWC to NCHW, which is already the channels_last layout.
        return normalize(x).contiguous(memory_format=torch.channels_last)
    return x


@torch.no_grad()
def predict(
    model: nn.Module,
    images: torch.Tensor,
    *,
    device: torch.device | str | None = None,
    tta_flip: bool = False,
    batch_size: int | None = None,
) -> torch.Tensor:
    """Logits (float, on the CPU) of ``model`` for ``images``, in batches, in eval mode.

    ``images`` are uint8 ``(N, H, W, 3)`` (normalised here) or, for non-image models, tensors
    passed as they are. ``tta_flip`` averages the logits of each image and its mirror image.
    ``device`` defaults to the model's. The model's training mode is restored afterwards.
    ``batch_size`` defaults to 128 on a CPU, where batches that fit its caches are fastest
    (measured on 2 cores: ResNet-9, width 16, with flip TTA evaluates 10,000 images in 9.6 s,
    17.1 s in batches of 1,000), and to 1,000 elsewhere.
    """
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"images must be a tensor, got {type(images).__name__}")
    if images.dtype == torch.uint8 and (images.ndim != 4 or images.shape[-1] != 3):
        raise ValueError(
            f"uint8 images must have shape (N, H, W, 3), got {tuple(images.shape)}"
        )
    if tta_flip and images.dtype != torch.uint8:
        raise ValueError("tta_flip needs uint8 (N, H, W, 3) images")
    device = model_device(model) if device is None else resolve_device(device)
    if batch_size is None:
        batch_size = 128 if device.type == "cpu" else 1000
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    with eval_mode(model):
        outputs = []
        for chunk in images.split(batch_size):
            x = to_input(chunk, device)
            with autocast(device):
                logits = model(x).float()
                if tta_flip:
                    logits = (logits + model(x.flip(3)).float()) / 2
            outputs.append(logits.cpu())
        return torch.cat(outputs) if outputs else torch.empty(0)


def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    tta_flip: bool = False,
    device: torch.device | str | None = None,
) -> float:
    """Top-1 accuracy in [0, 1] of ``model`` on ``images`` (see :func:`predict`)."""
    if not isinstance(images, torch.Tensor) or len(images) == 0:
        raise ValueError("images must be a non-empty tensor")
    logits = predict(model, images, device=device, tta_flip=tta_flip)
    check_labels(labels, len(images), logits.shape[1], "labels")
    return (logits.argmax(1) == labels).float().mean().item()
