"""The container every image data set of the course is handed around in."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import ClassVar

import torch

from lecture21.data.base import Dataset

#: Per-channel mean and standard deviation of CIFAR-10's training images (RGB, in [0, 1]).
#: Every model of the course sees ``(image / 255 - MEAN) / STD``, the synthetic set too.
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


class DataError(ValueError):
    """A data set is present but broken: corrupt archive, wrong count or size of images."""


@dataclass(frozen=True)
class ImageData(Dataset):
    """Colour images as uint8 ``(N, H, W, 3)`` tensors (32x32 for CIFAR-10), augmented in ``fit``.

    For the built-in synthetic set, ``train_masks`` / ``test_masks`` (bool ``(N, H, W)``) mark
    each image's object.
    """

    _: KW_ONLY
    train_masks: torch.Tensor | None = None
    test_masks: torch.Tensor | None = None

    augmented: ClassVar[bool] = True

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            check_images(getattr(self, f"{split}_x"), getattr(self, f"{split}_y"),
                         len(self.classes), f"{split}_x")


def check_images(images: object, labels: object, num_classes: int, name: str = "images") -> None:
    """Raise ``ValueError`` unless ``images`` is uint8 (N, H, W, 3) and labels fit it."""
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8:
        raise ValueError(f"{name} must be a uint8 tensor (N, H, W, 3), got {_describe(images)}")
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (N, H, W, 3), got {tuple(images.shape)}")
    if len(images) == 0:
        raise ValueError(f"{name} is empty: a data set needs at least one image")
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64 or labels.ndim != 1:
        raise ValueError(f"labels of {name} must be an int64 tensor (N,), got {_describe(labels)}")
    if len(labels) != len(images):
        raise ValueError(f"{name} has {len(images)} images but {len(labels)} labels")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(
            f"labels of {name} must lie in [0, {num_classes}), "
            f"got values from {int(labels.min())} to {int(labels.max())}"
        )


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"{value.dtype} tensor of shape {tuple(value.shape)}"
    return type(value).__name__


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(N, H, W, 3)`` images -> float ``(N, 3, H, W)`` model input, standardised."""
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be a uint8 tensor (N, H, W, 3), got {_describe(images)}")
    mean = torch.tensor(MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=images.device).view(1, 3, 1, 1)
    return (images.permute(0, 3, 1, 2).float() / 255 - mean) / std


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`normalize`: float ``(N, 3, H, W)`` -> float ``(N, H, W, 3)`` in [0, 1]."""
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    return (x * std + mean).clamp(0, 1).permute(0, 2, 3, 1)
