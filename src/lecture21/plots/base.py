"""Figure helpers shared by every part: image grids, feature maps, confusion matrices."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = ["confusion_matrix", "plot_confusion", "show_images", "show_maps", "show_panels"]


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _grid(items, draw, titles, ncols: int, title: str | None, size: float) -> plt.Figure:
    """Draw each item with ``draw(ax, item)`` in a grid of ``ncols`` columns, axes hidden."""
    n = len(items)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    figsize = (size * ncols, size * nrows + 0.4)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            draw(ax, items[i])
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_images(
    images, titles: Sequence[str] | None = None, ncols: int = 8, title: str | None = None,
    size: float = 1.6,
) -> plt.Figure:
    """A grid of uint8 ``(N, H, W, 3)`` images (or float in [0, 1]) with optional captions."""
    return _grid(_numpy(images), lambda ax, image: ax.imshow(image), titles, ncols, title, size)


def show_maps(
    maps, titles: Sequence[str] | None = None, ncols: int = 8, title: str | None = None,
    cmap: str = "viridis", size: float = 1.6,
) -> plt.Figure:
    """A grid of 2-D maps ``(N, H, W)`` (feature maps, attributions), each on its own scale."""
    return _grid(_numpy(maps), lambda ax, m: ax.imshow(m, cmap=cmap), titles, ncols, title, size)


def confusion_matrix(labels, predictions, num_classes: int) -> np.ndarray:
    """Counts ``[true, predicted]`` as an integer array."""
    labels, predictions = _numpy(labels).astype(int), _numpy(predictions).astype(int)
    if labels.shape != predictions.shape:
        raise ValueError(f"labels {labels.shape} and predictions {predictions.shape} differ")
    matrix = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def plot_confusion(
    labels, predictions, classes: Sequence[str], title: str = "Матрица ошибок"
) -> plt.Figure:
    """The confusion matrix, rows normalised to shares of each true class."""
    matrix = confusion_matrix(labels, predictions, len(classes))
    shares = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("предсказанный класс")
    ax.set_ylabel("истинный класс")
    for (i, j), value in np.ndenumerate(matrix):
        if value:
            colour = "white" if shares[i, j] > 0.5 else "black"
            ax.text(j, i, value, ha="center", va="center", fontsize=7, color=colour)
    fig.colorbar(image, ax=ax, label="доля истинного класса")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def show_panels(pictures, titles: Sequence[str], title: str | None = None, size: float = 2.75
                ) -> plt.Figure:
    """One row of mixed pictures: colour images ``(H, W, 3)`` as they are, single maps
    ``(H, W)`` (a feature map, an edge response) in grey, each with its caption."""
    pictures = [_numpy(p) for p in pictures]
    if len(titles) != len(pictures):
        raise ValueError(f"titles must have one caption per picture ({len(pictures)}), "
                         f"got {len(titles)}")
    for p in pictures:
        if p.ndim not in (2, 3):
            raise ValueError(f"each picture must be (H, W) or (H, W, 3), got {p.shape}")

    def draw(ax, picture):
        ax.imshow(picture, cmap=None if picture.ndim == 3 else "gray")

    return _grid(pictures, draw, list(titles), len(pictures), title, size)
