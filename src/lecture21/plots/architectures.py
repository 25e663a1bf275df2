"""Figures of the classic architectures (slides "LeNet-5" ... "GoogLeNet"), drawn from the
model objects themselves: layer sizes come from a forward pass with hooks, channel counts and
groups from the modules, so a change in a model file changes its picture."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import FancyArrowPatch, Rectangle
from torch import nn

from lecture21.measure import layer_shapes

__all__ = [
    "FIGURES",
    "alexnet_groups",
    "cascade_3x3",
    "lenet_vs_alexnet",
    "compare_bars",
    "googlenet_structure",
    "ilsvrc_errors",
    "inception_block",
    "lenet_structure",
    "vgg_configurations",
]

_COLOURS = {"conv": "#4c72b0", "pool": "#dd8452", "fc": "#55a868", "norm": "#c44e52",
            "other": "#8172b2", "input": "#937860"}


def _box(ax, x, y, w, h, text, kind, fontsize=8):
    ax.add_patch(Rectangle((x, y), w, h, facecolor=_COLOURS[kind], alpha=0.85,
                           edgecolor="black", linewidth=0.6))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize,
            color="white")


def _arrow(ax, start, end):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=8, lw=0.8))


def _chain(ax, labels: Sequence[tuple[str, str]], title: str) -> None:
    """Boxes left to right with arrows between them."""
    for i, (text, kind) in enumerate(labels):
        _box(ax, i * 1.25, 0, 1.0, 1.0, text, kind, fontsize=7)
        if i:
            _arrow(ax, (i * 1.25 - 0.25, 0.5), (i * 1.25, 0.5))
    ax.set_xlim(-0.1, len(labels) * 1.25)
    ax.set_ylim(-0.2, 1.2)
    ax.axis("off")
    ax.set_title(title)


def lenet_structure(model: nn.Module | None = None) -> plt.Figure:
    """LeNet-5 as in figure 2 of the paper: each layer with its maps and their size."""
    from lecture21.models import create

    model = model or create("lenet5", paper=True)
    names = ["C1", "S2", "C3", "S4", "C5", "F6", "output"]
    in_channels = model.C1[0].in_channels
    shapes = layer_shapes(model, (1, in_channels, 32, 32), names)
    labels = [(f"вход\n{in_channels}@32×32", "input")]
    for name, shape in zip(names, shapes):
        kind = "pool" if name.startswith("S") else "fc" if name in {"F6", "output"} else "conv"
        size = f"{shape[0]}@{shape[1]}×{shape[2]}" if len(shape) == 3 else f"{shape[0]}"
        labels.append((f"{name}\n{size}", kind))
    fig, ax = plt.subplots(figsize=(10, 1.9))
    _chain(ax, labels, "LeNet-5: размеры карт признаков (из прямого прохода модели)")
    return fig


def alexnet_groups(model: nn.Module | None = None) -> plt.Figure:
    """AlexNet's five convolutions split over two GPUs: a grouped layer (groups=2) sees only its
    own GPU's maps (straight arrows), a dense one sees both (crossed arrows)."""
    from lecture21.models import create

    model = model or create("alexnet", "imagenet")
    convs = [layer.conv for layer in model.features]
    names = [f"conv{i}" for i in range(1, len(convs) + 1)]
    shapes = layer_shapes(model, (1, 3, 224, 224), [f"features.{n}.conv" for n in names])
    fig, ax = plt.subplots(figsize=(10, 3.2))
    for i, (conv, shape) in enumerate(zip(convs, shapes)):
        x = i * 2.0
        for gpu in range(2):
            half = conv.out_channels // 2
            _box(ax, x, 1.6 - 1.4 * gpu, 1.2, 1.0,
                 f"conv{i + 1}\n{half} ядер {conv.kernel_size[0]}×{conv.kernel_size[0]}\n"
                 f"{shape[1]}×{shape[2]}", "conv", fontsize=7)
        if i:
            ax.text(x - 0.4, 2.75, "groups=2" if conv.groups == 2 else "все карты",
                    ha="center", fontsize=7)
            for src in range(2):
                for dst in range(2):
                    if conv.groups == 2 and src != dst:
                        continue
                    _arrow(ax, (x - 0.8, 2.1 - 1.4 * src), (x, 2.1 - 1.4 * dst))
    ax.text(-0.2, 2.1, "GPU 1", ha="right", va="center")
    ax.text(-0.2, 0.7, "GPU 2", ha="right", va="center")
    ax.set_xlim(-1.2, len(convs) * 2.0)
    ax.set_ylim(0, 3.0)
    ax.axis("off")
    ax.set_title("AlexNet на двух GPU: групповые свёртки (groups) взяты из модели")
    return fig


def compare_bars(
    rows: dict[str, dict[str, float]], keys: Sequence[str], labels: Sequence[str],
    title: str, log: bool = True,
) -> plt.Figure:
    """Side-by-side bars of a few measures (parameters, MACs, ...) of several models."""
    fig, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 3.2))
    axes = [axes] if len(keys) == 1 else list(axes)
    names = list(rows)
    for ax, key, label in zip(axes, keys, labels):
        values = [rows[n][key] for n in names]
        bars = ax.bar(names, values, color=[f"C{i}" for i in range(len(names))])
        ax.bar_label(bars, labels=[f"{v:.3g}" for v in values], fontsize=7)
        if log:
            ax.set_yscale("log")
        ax.set_title(label, fontsize=10)
        ax.tick_params(axis="x", labelsize=8, rotation=20)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def lenet_vs_alexnet() -> plt.Figure:
    """LeNet-5 (1998) against AlexNet (2012): parameters, multiply-adds, input pixels."""
    from lecture21.measure import count_parameters, macs
    from lecture21.models import create

    with torch.device("meta"):  # shapes are enough to count
        lenet = create("lenet5", paper=True)
        alexnet = create("alexnet", "imagenet")
    rows = {
        "LeNet-5": {"params": count_parameters(lenet), "macs": macs(lenet, (1, 1, 32, 32)),
                    "pixels": 32 * 32},
        "AlexNet": {"params": count_parameters(alexnet),
                    "macs": macs(alexnet, (1, 3, 224, 224)), "pixels": 224 * 224 * 3},
    }
    return compare_bars(rows, ["params", "macs", "pixels"],
                        ["параметры", "умножения-сложения", "чисел на входе"],
                        "LeNet-5 и AlexNet (логарифмическая шкала)")


def ilsvrc_errors() -> plt.Figure:
    """Top-5 error of the ILSVRC winners by year, with the human 5.1 % (sources in
    ``lecture21.ilsvrc``)."""
    from lecture21.ilsvrc import HUMAN_TOP5_ERROR, RESULTS

    fig, ax = plt.subplots(figsize=(8, 3.6))
    shown = [r for r in RESULTS if r.winner or r.team == "VGG"]
    labels = [f"{r.year}\n{r.model}" for r in shown]
    colours = ["#8c8c8c" if r.year < 2012 else "#4c72b0" if r.winner else "#9fb6d8"
               for r in shown]
    bars = ax.bar(range(len(shown)), [r.top5_error for r in shown], color=colours)
    ax.bar_label(bars, labels=[f"{r.top5_error:g} %" for r in shown], fontsize=8)
    ax.axhline(HUMAN_TOP5_ERROR, color="C3", linestyle="--")
    ax.text(len(shown) - 0.5, HUMAN_TOP5_ERROR + 0.6, f"человек {HUMAN_TOP5_ERROR} %",
            color="C3", ha="right", fontsize=8)
    ax.set_xticks(range(len(shown)), labels, fontsize=7)
    ax.set_ylabel("top-5 ошибка, %")
    ax.set_title("ILSVRC: top-5 ошибка победителей (VGG — 2-е место 2014)")
    fig.tight_layout()
    return fig


def vgg_configurations() -> plt.Figure:
    """Table 1 of the VGG paper (configurations A, B, D, E) drawn from ``vgg.CONFIGS``."""
    from lecture21.models.vgg import CONFIGS, DEPTHS

    fig, axes = plt.subplots(1, len(DEPTHS), figsize=(10, 6.2), sharey=True)
    for ax, (name, letter) in zip(axes, DEPTHS.items()):
        items = [*CONFIGS[letter], "FC-4096", "FC-4096", "FC-1000"]
        for row, item in enumerate(items):
            if item == "M":
                text, kind = "maxpool", "pool"
            elif isinstance(item, int):
                text, kind = f"conv3-{item}", "conv"
            else:
                text, kind = item, "fc"
            _box(ax, 0, -row, 1, 0.85, text, kind, fontsize=7)
        ax.set_xlim(-0.05, 1.05)
        ax.set_ylim(-len(CONFIGS["E"]) - 3.2, 1)
        ax.axis("off")
        ax.set_title(f"{letter}: {name}", fontsize=9)
    fig.suptitle("Конфигурации VGG (табл. 1 статьи): только свёртки 3×3")
    fig.tight_layout()
    return fig


def cascade_3x3(layers: int = 3) -> plt.Figure:
    """How the receptive field of stacked 3x3 convolutions grows: 3, 5, 7 (computed by
    ``lecture21.interpret.receptive_fields`` on a real stack)."""
    from lecture21.interpret import receptive_fields

    stack = nn.Sequential(*(nn.Conv2d(1, 1, 3, padding=1) for _ in range(layers)))
    sizes = [f.size for f in receptive_fields(stack)]
    grid = 2 * layers + 3
    fig, axes = plt.subplots(1, layers, figsize=(3 * layers, 3))
    for ax, size, depth in zip(axes, sizes, range(1, layers + 1)):
        for i in range(grid):
            for j in range(grid):
                ax.add_patch(Rectangle((i, j), 1, 1, fill=False, linewidth=0.3))
        start = (grid - size) / 2
        ax.add_patch(Rectangle((start, start), size, size, color="#4c72b0", alpha=0.4))
        centre = (grid - 1) / 2
        ax.add_patch(Rectangle((centre, centre), 1, 1, color="#c44e52"))
        ax.set_xlim(0, grid)
        ax.set_ylim(0, grid)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(f"{depth} свёртк{'а' if depth == 1 else 'и'} 3×3: поле {size}×{size}")
    fig.suptitle("Каскад свёрток 3×3: рецептивное поле растёт на 2 с каждым слоем")
    fig.tight_layout()
    return fig


def inception_block(block: nn.Module | None = None, in_channels: int | None = None) -> plt.Figure:
    """An ``InceptionBlock``'s four branches with their channel counts, read from the block."""
    from lecture21.models import create

    if block is None:
        block = create("googlenet", "imagenet").inception3a
    first = block.branch1.conv
    in_channels = in_channels or first.in_channels
    fig, ax = plt.subplots(figsize=(9, 4))
    _box(ax, 3.0, 4.2, 3.0, 0.7, f"предыдущий слой: {in_channels} каналов", "input")
    branches = [block.branch1, block.branch2, block.branch3, block.branch4]
    for i, branch in enumerate(branches):
        x = i * 2.3
        layers = list(branch) if isinstance(branch, nn.Sequential) and not hasattr(
            branch, "conv") else [branch]
        for j, layer in enumerate(layers):
            if isinstance(layer, nn.MaxPool2d):
                text, kind = "max pool 3×3", "pool"
            else:
                conv = layer.conv
                k = conv.kernel_size[0]
                text, kind = f"conv {k}×{k}\n{conv.out_channels}", "conv" if k > 1 else "other"
            _box(ax, x, 2.9 - 1.1 * j, 1.9, 0.8, text, kind)
        _arrow(ax, (4.5, 4.2), (x + 0.95, 3.7))
        _arrow(ax, (x + 0.95, 2.9 - 1.1 * (len(layers) - 1)), (4.5, 0.9))
    _box(ax, 3.0, 0.1, 3.0, 0.8, f"конкатенация: {block.out_channels} каналов", "fc")
    ax.set_xlim(-0.2, 9.2)
    ax.set_ylim(0, 5.0)
    ax.axis("off")
    ax.set_title("Блок Inception: четыре ветви; фиолетовые 1×1 — «bottleneck»")
    return fig


def googlenet_structure(model: nn.Module | None = None) -> plt.Figure:
    """GoogLeNet's stages with map sizes and channels (Table 1), auxiliary heads marked."""
    from lecture21.models import create

    model = model or create("googlenet", "imagenet")
    names = ["conv1", "conv3", "inception3a", "inception3b", "inception4a", "inception4b",
             "inception4c", "inception4d", "inception4e", "inception5a", "inception5b", "fc"]
    shapes = layer_shapes(model, (1, 3, 224, 224), names)
    labels = []
    for name, shape in zip(names, shapes):
        short = name.replace("inception", "")
        kind = "fc" if name == "fc" else "conv" if name.startswith("conv") else "other"
        size = f"{shape[0]}\n{shape[1]}×{shape[2]}" if len(shape) == 3 else f"{shape[0]}"
        labels.append((f"{short}\n{size}", kind))
    fig, ax = plt.subplots(figsize=(13, 2.4))
    _chain(ax, labels, "GoogLeNet: блоки Inception, каналы и размер карт (из модели)")
    if getattr(model, "aux1", None) is not None:
        for name in ("inception4a", "inception4d"):
            x = names.index(name) * 1.25 + 0.5
            ax.annotate("доп.\nклассиф.", (x, 0), (x, -0.6), ha="center", fontsize=7,
                        arrowprops={"arrowstyle": "<-", "lw": 0.8})
        ax.set_ylim(-0.9, 1.2)
    return fig


FIGURES = {
    "lenet5-structure": lenet_structure,
    "lenet-vs-alexnet": lenet_vs_alexnet,
    "alexnet-two-gpus": alexnet_groups,
    "ilsvrc-top5": ilsvrc_errors,
    "vgg-configurations": vgg_configurations,
    "vgg-3x3-cascade": cascade_3x3,
    "inception-block": inception_block,
    "googlenet-structure": googlenet_structure,
}
