"""Slide "Другие подходы": Zeiler & Fergus's top-9 patches of a channel and their projections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt

__all__ = ["top_patches"]


def top_patches(views: Mapping[int, Sequence], title: str | None = None) -> plt.Figure:
    """Per channel two rows: the deconvnet projections and the input patches of the strongest
    activations (``interpret.top_patches.strongest_patches``), strongest first."""
    if not views or not all(views.values()):
        raise ValueError("views must map channels to non-empty lists of patches")
    columns = max(len(v) for v in views.values())
    size = (1.0 * columns, 2.3 * len(views))
    fig, axes = plt.subplots(2 * len(views), columns, figsize=size, squeeze=False)
    for row, (channel, patches) in enumerate(views.items()):
        for col in range(columns):
            for ax in axes[2 * row:2 * row + 2, col]:
                ax.axis("off")
            if col < len(patches):
                axes[2 * row, col].imshow(patches[col].projection.numpy())
                axes[2 * row + 1, col].imshow(patches[col].patch.numpy())
        axes[2 * row, 0].set_title(f"канал {channel}: проекции и участки входа", fontsize=8,
                                   loc="left")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
