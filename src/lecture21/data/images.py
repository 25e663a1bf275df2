"""The container every image data set of the course is handed around in."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

SYNTHETIC_LABEL = "синтетические данные"

#: Per-channel mean and standard deviation of CIFAR-10's training images (RGB, in [0, 1]).
#: Every model of the course sees ``(image / 255 - MEAN) / STD``, the synthetic set too.
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


class DataError(ValueError):
    """A data set is present but broken: corrupt archive, wrong count or size of images."""


@dataclass(frozen=True)
class ImageData:
    """A train/test split of 32x32 colour images as uint8 ``(N, 32, 32, 3)`` tensors.

    ``source`` says in Russian where the images came from. ``synthetic`` is true for the
    built-in fallback set; then ``notice`` explains why CIFAR-10 was not used, and the masks
    (bool ``(N, 32, 32)``) mark each image's object.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]
    source: str
    synthetic: bool = False
    notice: str | None = None
    train_masks: torch.Tensor | None = None
    test_masks: torch.Tensor | None = None

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images = getattr(self, f"{split}_images")
            labels = getattr(self, f"{split}_labels")
            check_images(images, labels, len(self.classes), f"{split}_images")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def title(self, text: str) -> str:
        """A results title that says so when the data are synthetic."""
        return f"{text} ({SYNTHETIC_LABEL})" if self.synthetic else text

    def subset(self, train_size: int | None, test_size: int | None, seed: int = 0) -> ImageData:
        """A random (but seeded, so repeatable) subset; ``None`` keeps a split whole."""
        generator = torch.Generator().manual_seed(seed)
        parts = {}
        for split, size in (("train", train_size), ("test", test_size)):
            images = getattr(self, f"{split}_images")
            index = subset_index(len(images), size, generator, f"{split}_size")
            parts[f"{split}_images"] = images[index]
            parts[f"{split}_labels"] = getattr(self, f"{split}_labels")[index]
            masks = getattr(self, f"{split}_masks")
            parts[f"{split}_masks"] = None if masks is None else masks[index]
        return replace(self, **parts)


def subset_index(
    total: int, size: int | None, generator: torch.Generator, name: str
) -> torch.Tensor:
    """Sorted indices of a seeded random subset of ``size`` out of ``total`` (None: all)."""
    if size is None or (isinstance(size, int) and size >= total):
        return torch.arange(total)
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"{name} must be a positive int or None, got {size!r}")
    return torch.randperm(total, generator=generator)[:size].sort().values


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
