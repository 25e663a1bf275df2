"""Figures of the interpretation part: maps over images, method grids, deletion curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from lecture21.helpers import minmax

__all__ = ["attribution_image", "deletion_curves", "effective_field", "method_grid", "overlay",
           "overlay_row"]


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _rgb(image) -> np.ndarray:
    """An image as floats in [0, 1], from uint8 (0..255) or floats."""
    image = _numpy(image)
    return image / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)


def _scaled(m: np.ndarray) -> np.ndarray:
    """``m`` scaled to [0, 1] by its minimum and maximum (zeros where it is constant)."""
    return minmax(torch.as_tensor(m)[None])[0].numpy()


def overlay(ax: plt.Axes, image, heat, alpha: float = 0.5, cmap: str = "jet") -> None:
    """Draw ``image`` (H, W, 3) in [0, 1] with the map ``heat`` (h, w) on top, stretched over it."""
    image, heat = _rgb(image), _numpy(heat).astype(np.float32)
    h, w = image.shape[:2]
    ax.imshow(image)
    ax.imshow(_scaled(heat), cmap=cmap, alpha=alpha, extent=(-0.5, w - 0.5, h - 0.5, -0.5),
              interpolation="bilinear")
    ax.axis("off")


def overlay_row(images, maps, titles: Sequence[str], title: str | None = None,
                size: float = 1.8) -> plt.Figure:
    """One row: each image with its map (B, h, w) drawn over it (:func:`overlay`), titled."""
    images, maps = _numpy(images), _numpy(maps)
    if not len(images) == len(maps) == len(titles):
        raise ValueError(f"images, maps and titles must be as many, got {len(images)}, "
                         f"{len(maps)} and {len(titles)}")
    fig, axes = plt.subplots(1, len(images), squeeze=False, figsize=(size * len(images), 2.2))
    for ax, image, heat, name in zip(axes[0], images, maps, titles):
        overlay(ax, image, heat)
        ax.set_title(name, fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def attribution_image(attribution) -> np.ndarray:
    """A (C, H, W) input-space attribution (guided backprop, deconvnet) as an RGB image in [0, 1]:
    centred on grey, scaled by its largest absolute value (as Springenberg et al. show them)."""
    a = _numpy(attribution).astype(np.float32).transpose(1, 2, 0)
    scale = np.abs(a).max()
    return np.clip(0.5 + 0.5 * a / scale, 0, 1) if scale > 0 else np.full_like(a, 0.5)


def method_grid(
    images, maps: Mapping[str, object], row_titles: Sequence[str] | None = None,
    title: str | None = None, size: float = 1.6, as_overlay: bool = True,
) -> plt.Figure:
    """Rows of images; column 0 the image, then one column per method's (B, H, W) map."""
    images = [_rgb(image) for image in _numpy(images)]
    names = list(maps)
    fig, axes = plt.subplots(len(images), len(names) + 1, squeeze=False,
                             figsize=(size * (len(names) + 1), size * len(images) + 0.5))
    for row, image in enumerate(images):
        axes[row, 0].imshow(image)
        axes[row, 0].axis("off")
        if row_titles is not None:
            axes[row, 0].set_title(row_titles[row], fontsize=7)
        for col, name in enumerate(names, start=1):
            heat = _numpy(maps[name])[row]
            if as_overlay:
                overlay(axes[row, col], image, heat)
            else:
                axes[row, col].imshow(_scaled(heat.astype(np.float32)), cmap="viridis")
                axes[row, col].axis("off")
            if row == 0:
                axes[row, col].set_title(name.replace(" (", "\n("), fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def deletion_curves(
    curves: Mapping[str, tuple[object, object]], title: str = "Кривые удаления и вставки"
) -> plt.Figure:
    """Mean deletion and insertion curves per method: ``{name: (deletion, insertion)}``."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for name, (deletion, insertion) in curves.items():
        deletion, insertion = _numpy(deletion).mean(0), _numpy(insertion).mean(0)
        steps = np.linspace(0, 1, len(deletion))
        left.plot(steps, deletion, label=name)
        right.plot(steps, insertion, label=name)
    left.set_title("удаление: важные пиксели убираются первыми")
    right.set_title("вставка: важные пиксели возвращаются первыми")
    for ax in (left, right):
        ax.set_xlabel("доля пикселей")
        ax.grid(alpha=0.3)
    left.set_ylabel("вероятность класса")
    right.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def effective_field(
    erf: object, layer: str, theory: int, title: str = "эффективное поле"
) -> plt.Figure:
    """The effective receptive field of ``layer`` (a 2-D map of mean gradient magnitudes, as
    :func:`lecture21.interpret.effective_receptive_field` returns), titled with the theoretical
    size ``theory`` (pixels on a side) for comparison."""
    heat = _numpy(erf)
    if heat.ndim != 2:
        raise ValueError(f"erf must be a 2-D map, got shape {heat.shape}")
    fig, ax = plt.subplots(figsize=(3.6, 3.2))
    ax.imshow(heat, cmap="viridis")
    ax.set_title(f"{title} {layer}\n(теоретическое {theory}×{theory})")
    ax.axis("off")
    return fig

