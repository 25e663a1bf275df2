"""Figures of DenseNet (slides "DenseNet"), drawn from the model objects: channel counts come
from the layers' modules, map sizes from a forward pass with hooks."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import FancyArrowPatch
from torch import nn

from lecture21.plots.architectures import _box, _chain, layer_shapes

__all__ = ["dense_block", "densenet_structure", "feature_reuse", "parameters_against_depth"]


def dense_block(block: nn.Module | None = None) -> plt.Figure:
    """A dense block (the paper's Figure 1): every layer ``H_i`` receives the maps of the input
    and of ALL earlier layers, concatenated; each adds ``k`` maps. Default: the first block of
    the CIFAR DenseNet-BC with 4 layers per block (``depth=28``, k=12)."""
    from lecture21.models import create

    if block is None:
        block = create("densenet_bc", depth=28).features.denseblock1
    layers = list(block.values())
    k = layers[0].conv2.out_channels
    c0 = layers[0].norm1.num_features
    fig, ax = plt.subplots(figsize=(2.1 * (len(layers) + 2), 3.6))
    _box(ax, 0, 0, 1.3, 1.0, f"$x_0$\n{c0} карт", "input")
    for i, layer in enumerate(layers, start=1):
        x = 2.0 * i
        _box(ax, x, 0, 1.3, 1.0,
             f"$H_{i}$\nвход {layer.norm1.num_features}\n"
             f"1×1→{layer.conv1.out_channels}, 3×3→{layer.conv2.out_channels}", "conv",
             fontsize=7)
        for j in range(i):  # x_j -> H_i: an arc above the row
            colour = f"C{j}"
            ax.add_patch(FancyArrowPatch(
                (2.0 * j + 0.9, 1.0), (x + 0.4, 1.0), arrowstyle="-|>", mutation_scale=7,
                lw=0.9, color=colour, connectionstyle=f"arc3,rad=-{0.25 + 0.05 * (i - j)}"))
    x_out = 2.0 * (len(layers) + 1)
    _box(ax, x_out, 0, 1.5, 1.0, f"конкатенация\n{block.out_channels} = {c0} + "
         f"{len(layers)}·{k}", "fc", fontsize=7)
    for i in range(len(layers) + 1):
        ax.add_patch(FancyArrowPatch((2.0 * i + 0.65, 0), (x_out + 0.75, 0), arrowstyle="-|>",
                                     mutation_scale=7, lw=0.6, color=f"C{i}",
                                     connectionstyle="arc3,rad=0.12"))
    ax.set_xlim(-0.2, x_out + 1.7)
    ax.set_ylim(-1.5, 3.4)
    ax.axis("off")
    ax.set_title(f"Плотный блок: $x_i = H_i([x_0, \\ldots, x_{{i-1}}])$, темп роста k = {k}")
    return fig


def densenet_structure(model: nn.Module | None = None) -> plt.Figure:
    """DenseNet-BC for CIFAR with its three dense blocks and two transition layers: maps and
    their size after each stage, from a forward pass (default: ``densenet_bc``, L=40, k=12)."""
    from lecture21.models import create

    model = model or create("densenet_bc")
    names = [n for n, _ in model.features.named_children() if n != "norm5"]
    shapes = layer_shapes(model, (1, 3, 32, 32), [f"features.{n}" for n in names])
    labels = [("вход\n3@32×32", "input")]
    for name, shape in zip(names, shapes):
        if name.startswith("denseblock"):
            layers = len(model.features.get_submodule(name))
            text, kind = f"плотный блок {name[-1]}\n{layers} слоёв", "conv"
        elif name.startswith("transition"):
            text, kind = f"переход {name[-1]}\n1×1, avg pool", "pool"
        else:
            text, kind = "conv 3×3", "other"
        labels.append((f"{text}\n{shape[0]}@{shape[1]}×{shape[2]}", kind))
    labels.append((f"BN-ReLU\nсредн. пул\nFC {model.classifier.out_features}", "fc"))
    fig, ax = plt.subplots(figsize=(11, 2.0))
    _chain(ax, labels, f"DenseNet-BC: три плотных блока (k = {model.growth_rate}), "
                       "переходы сжимают число карт вдвое")
    return fig


#: Redrawn into img/ by ``python -m lecture21.plots`` (``make figures``).
FIGURES = {
    "densenet-dense-block": dense_block,
    "densenet-three-blocks": densenet_structure,
}


def feature_reuse(heats: list[torch.Tensor], title: str = "") -> plt.Figure:
    """The paper's Figure 5: one heat map per dense block, ``heats[b][target - 1, source]`` from
    :func:`lecture21.models.densenet.feature_reuse`; the last row is the layer after the block
    (transition or classifier). Each map is scaled to its own maximum, as in the paper."""
    fig, axes = plt.subplots(1, len(heats), figsize=(3.4 * len(heats), 3.4), squeeze=False)
    for b, (ax, heat) in enumerate(zip(axes[0], heats), start=1):
        h = heat.numpy()
        ax.imshow(h / np.nanmax(h), cmap="viridis", vmin=0, vmax=1)
        n = h.shape[0]
        ax.set_xticks(range(h.shape[1]), ["вход", *map(str, range(1, h.shape[1]))], fontsize=7)
        ax.set_yticks(range(n), [*map(str, range(1, n)), "переход" if b < len(heats) else "fc"],
                      fontsize=7)
        ax.set_xlabel("источник s (слой, чьи карты читают)")
        ax.set_ylabel("приёмник ℓ")
        ax.set_title(f"плотный блок {b}")
    fig.suptitle(title or "Повторное использование признаков: средний |вес| от слоя s к слою ℓ")
    fig.tight_layout()
    return fig


def parameters_against_depth(
    by_depth: dict[str, dict[int, int]], by_growth: dict[int, int], depth: int
) -> plt.Figure:
    """Left: parameters against depth for each family of ``by_depth`` ({label: {depth:
    parameters}}); right: DenseNet-BC's parameters against the growth rate k at ``depth``."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, points in by_depth.items():
        depths = sorted(points)
        left.plot(depths, [points[d] / 1e6 for d in depths], "o-", label=label)
    left.set_xlabel("глубина L (слоёв с весами)")
    left.set_ylabel("параметры, млн")
    left.set_title("Параметры против глубины")
    left.legend(fontsize=8)
    ks = sorted(by_growth)
    right.plot(ks, [by_growth[k] / 1e6 for k in ks], "o-", color="C2")
    right.set_xlabel("темп роста k")
    right.set_ylabel("параметры, млн")
    right.set_title(f"DenseNet-BC, L = {depth}: параметры против k")
    fig.tight_layout()
    return fig
