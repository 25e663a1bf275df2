"""Data augmentation on the device, for a whole batch at once (slide "Аугментация данных").

Random crop by pad-and-slice and horizontal flip as in the ResNet paper's CIFAR-10 recipe
(He et al., 2016, sec. 4.2: "4 pixels are padded on each side, and a 32x32 crop is randomly
sampled from the padded image or its horizontal flip"), and optional Cutout (DeVries & Taylor,
2017). Images stay uint8 NHWC until they are normalised; every random number comes from one
``torch.Generator``, so a seed fixes the augmentation, and there is no Python loop per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lecture21.data import MEAN

__all__ = ["AugmentParams", "augment_batch", "cutout", "draw_params", "pad", "random_crop"]


@dataclass(frozen=True)
class AugmentParams:
    """The random choices for a batch: crop offsets, flips and Cutout centres (all ``(N,)``)."""

    dx: torch.Tensor
    dy: torch.Tensor
    flip: torch.Tensor
    cut_x: torch.Tensor
    cut_y: torch.Tensor

    def to(self, device: torch.device | str) -> AugmentParams:
        return AugmentParams(*(t.to(device, non_blocking=True) for t in self.__dict__.values()))

    def __getitem__(self, index: slice | torch.Tensor) -> AugmentParams:
        return AugmentParams(*(t[index] for t in self.__dict__.values()))


def pad(images: torch.Tensor, padding: int) -> torch.Tensor:
    """Zero-pad uint8 ``(N, H, W, C)`` images by ``padding`` pixels on each side (once per run)."""
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding!r}")
    if padding == 0:
        return images
    return F.pad(images, (0, 0, padding, padding, padding, padding))


def draw_params(
    n: int, size: int, padding: int, flip: bool, cutout: int, generator: torch.Generator
) -> AugmentParams:
    """Draw the augmentation of ``n`` images of side ``size`` on the generator's device."""
    device = generator.device

    def integers(high: int) -> torch.Tensor:
        return torch.randint(0, high, (n,), generator=generator, device=device)

    return AugmentParams(
        dx=integers(2 * padding + 1),
        dy=integers(2 * padding + 1),
        flip=integers(2).bool() if flip else torch.zeros(n, dtype=torch.bool, device=device),
        cut_x=integers(size) if cutout else torch.zeros(n, dtype=torch.long, device=device),
        cut_y=integers(size) if cutout else torch.zeros(n, dtype=torch.long, device=device),
    )


def random_crop(
    padded: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor, size: int
) -> torch.Tensor:
    """Crop ``(N, size, size, C)`` from padded ``(N, H, W, C)`` at per-sample offsets, by gather."""
    steps = torch.arange(size, device=padded.device)
    rows = (dy[:, None] + steps)[:, :, None]  # (N, size, 1)
    cols = (dx[:, None] + steps)[:, None, :]  # (N, 1, size)
    batch = torch.arange(len(padded), device=padded.device)[:, None, None]
    return padded[batch, rows, cols]


def cutout(
    images: torch.Tensor, cut_x: torch.Tensor, cut_y: torch.Tensor, length: int
) -> torch.Tensor:
    """Fill a ``length``-sided square centred at (cut_x, cut_y) with the mean colour.

    The mean colour is zero after normalisation, as in DeVries & Taylor; the square may be
    clipped by the border, as in their code.
    """
    if length <= 0:
        return images
    n, h, w, _ = images.shape
    half = length // 2
    ys = torch.arange(h, device=images.device)
    xs = torch.arange(w, device=images.device)
    inside_y = (ys[None] >= (cut_y - half)[:, None]) & (ys[None] < (cut_y - half + length)[:, None])
    inside_x = (xs[None] >= (cut_x - half)[:, None]) & (xs[None] < (cut_x - half + length)[:, None])
    square = (inside_y[:, :, None] & inside_x[:, None, :])[..., None]
    fill = torch.tensor([round(m * 255) for m in MEAN], dtype=images.dtype, device=images.device)
    return torch.where(square, fill, images)


def augment_batch(
    padded: torch.Tensor, params: AugmentParams, size: int = 32, cutout_length: int = 0
) -> torch.Tensor:
    """Crop, flip and cut out a batch of padded uint8 NHWC images; returns uint8 NHWC."""
    out = random_crop(padded, params.dx, params.dy, size)
    out = torch.where(params.flip[:, None, None, None], out.flip(2), out)
    return cutout(out, params.cut_x, params.cut_y, cutout_length)
