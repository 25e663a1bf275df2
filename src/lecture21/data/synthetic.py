"""A built-in stand-in for CIFAR-10: ten classes of shapes on textured backgrounds, with masks.

Used when CIFAR-10 can be neither found nor downloaded (and then always announced), and by the
interpretation part, which needs to know where the object is: every image comes with the
boolean mask of its shape. The class is the shape alone; colour, size, position, background
texture and noise vary at random, so a small CNN has to learn shapes, not colours.
"""

from __future__ import annotations

import numpy as np
import torch

from lecture21.data.images import ImageData

SHAPES = (
    "disc", "square", "diamond", "triangle", "ring", "plus", "cross", "hbar", "vbar", "half-disc",
)


def _shape_mask(label: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The shape ``label`` in coordinates centred on it and scaled by its radius (y down)."""
    r = np.hypot(u, v)
    d1, d2 = np.abs(u + v) / np.sqrt(2), np.abs(u - v) / np.sqrt(2)
    return [
        r <= 1.0,
        np.maximum(np.abs(u), np.abs(v)) <= 0.8,
        np.abs(u) + np.abs(v) <= 1.0,
        (v <= 0.75) & (v >= 2.0 * np.abs(u) - 1.05),
        (r <= 1.0) & (r >= 0.55),
        ((np.abs(u) <= 0.3) | (np.abs(v) <= 0.3)) & (np.maximum(np.abs(u), np.abs(v)) <= 1.0),
        ((d1 <= 0.25) | (d2 <= 0.25)) & (r <= 1.05),
        (np.abs(u) <= 1.0) & (np.abs(v) <= 0.35),
        (np.abs(v) <= 1.0) & (np.abs(u) <= 0.35),
        (r <= 1.0) & (v <= 0.15),
    ][label]


def make_shapes(
    n: int, seed: int = 0, size: int = 32, noise: float = 18.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` images (uint8 ``(n, size, size, 3)``), their labels and object masks."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(SHAPES), n)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    images = np.empty((n, size, size, 3), np.uint8)
    masks = np.empty((n, size, size), bool)
    for i, label in enumerate(labels):
        # Background: two random colours mixed by a random low-frequency stripe pattern.
        angle, freq, phase = rng.uniform(0, np.pi), rng.uniform(0.15, 0.6), rng.uniform(0, 6.3)
        t = 0.5 + 0.5 * np.sin(freq * (x * np.cos(angle) + y * np.sin(angle)) + phase)
        c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        background = c0 + t[..., None] * (c1 - c0)
        # The object: a shape of random size and position, in a colour far from the background.
        radius = rng.uniform(0.17, 0.33) * size
        cx, cy = rng.uniform(radius, size - radius, 2)
        mask = _shape_mask(int(label), (x - cx) / radius, (y - cy) / radius)
        colour = rng.uniform(0, 255, 3)
        while np.abs(colour - background.mean((0, 1))).sum() < 150:
            colour = rng.uniform(0, 255, 3)
        image = np.where(mask[..., None], colour, background)
        image += rng.normal(0, noise, image.shape)
        images[i] = np.clip(image, 0, 255).astype(np.uint8)
        masks[i] = mask
    return images, labels.astype(np.int64), masks


def synthetic_data(
    train_size: int = 10_000, test_size: int = 2_000, seed: int = 0, notice: str | None = None
) -> ImageData:
    """The synthetic train/test split as :class:`ImageData` (the test set has its own seed)."""
    x_train, y_train, m_train = make_shapes(train_size, seed)
    x_test, y_test, m_test = make_shapes(test_size, seed + 1_000_003)
    return ImageData(
        torch.from_numpy(x_train),
        torch.from_numpy(y_train),
        torch.from_numpy(x_test),
        torch.from_numpy(y_test),
        SHAPES,
        source="синтетические данные: фигуры на текстурах (lecture21.data.synthetic)",
        synthetic=True,
        notice=notice,
        train_masks=torch.from_numpy(m_train),
        test_masks=torch.from_numpy(m_test),
    )
