"""AlexNet's colour augmentation, "fancy PCA" (Krizhevsky et al., 2012, section 4.1); slide
"AlexNet: аугментация".

PCA is computed once on the RGB values of all training pixels. To each training image the
paper adds ``sum_i alpha_i * lambda_i * p_i``, where ``p_i`` and ``lambda_i`` are the i-th
eigenvector and eigenvalue of the 3x3 RGB covariance and ``alpha_i ~ N(0, 0.1)`` is drawn once
per image: the same colour shift for every pixel, larger along the directions in which natural
colours vary most (mostly brightness), "approximately captures ... that object identity is
invariant to changes in the intensity and color of the illumination". Pixel values are taken
in [0, 1] (the scale of the widely used implementations, e.g. fb.resnet.torch's ``Lighting``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["PAPER_ALPHA_STD", "RGBComponents", "colour_offset", "fancy_pca",
           "rgb_principal_components"]

#: Standard deviation of the alphas in the paper.
PAPER_ALPHA_STD = 0.1


@dataclass(frozen=True)
class RGBComponents:
    """Eigenvalues (descending, variances of pixel values in [0, 1]) and eigenvectors (column
    ``i`` is ``p_i``) of the RGB covariance of a set of images."""

    eigenvalues: torch.Tensor  # (3,)
    eigenvectors: torch.Tensor  # (3, 3)


def _pixels(images: torch.Tensor) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[-1] != 3:
        got = getattr(images, "shape", type(images).__name__)
        raise ValueError(f"images must be a (N, H, W, 3) tensor, got {got}")
    scale = 255.0 if images.dtype == torch.uint8 else 1.0
    return images.reshape(-1, 3).double() / scale


def rgb_principal_components(images: torch.Tensor) -> RGBComponents:
    """PCA of the RGB values of every pixel of ``images`` (uint8 or float in [0, 1])."""
    _pixels(images[:1])  # checks the shape
    # Sums over chunks: the covariance of 50,000 CIFAR images without 1 GB of float64 pixels.
    count, total, products = 0, torch.zeros(3, dtype=torch.float64), torch.zeros(
        3, 3, dtype=torch.float64)
    for chunk in images.split(1024):
        pixels = _pixels(chunk)
        count, total, products = count + len(pixels), total + pixels.sum(0), products + (
            pixels.T @ pixels)
    if count < 2:
        raise ValueError(f"images must hold at least 2 pixels, got {count}")
    mean = total / count
    covariance = (products - count * torch.outer(mean, mean)) / (count - 1)
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)
    order = eigenvalues.argsort(descending=True)
    return RGBComponents(eigenvalues[order].float(), eigenvectors[:, order].float())


def colour_offset(components: RGBComponents, alpha: torch.Tensor) -> torch.Tensor:
    """``[p1 p2 p3] [alpha1 lambda1, alpha2 lambda2, alpha3 lambda3]^T`` for each row of
    ``alpha`` (shape ``(..., 3)``): the RGB shift added to every pixel of one image."""
    alpha = torch.as_tensor(alpha, dtype=torch.float32)
    if alpha.shape[-1:] != (3,):
        raise ValueError(f"alpha must have shape (..., 3), got {tuple(alpha.shape)}")
    return (alpha * components.eigenvalues) @ components.eigenvectors.T


def fancy_pca(images: torch.Tensor, components: RGBComponents, std: float = PAPER_ALPHA_STD,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """``images`` (uint8 or float, ``(N, H, W, 3)``) as floats in [0, 1], each shifted by its
    own :func:`colour_offset` with ``alpha ~ N(0, std)``, clipped to [0, 1]."""
    if not std >= 0:
        raise ValueError(f"std must be >= 0, got {std!r}")
    pixels = _pixels(images).float().reshape(images.shape)
    alpha = torch.randn(images.shape[0], 3, generator=generator) * std
    offset = colour_offset(components, alpha)
    return (pixels + offset[:, None, None, :]).clamp(0, 1)
