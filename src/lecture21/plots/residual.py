"""Figures of the residual family (slides "ResNet", "Преимущества ResNet"), drawn from the model
objects: kernel sizes, channels, strides and shortcuts are read from the modules, map sizes and
multiply-adds from a pass on the meta device, so a change in a model file changes its picture.

* :func:`residual_blocks` -- the basic block and the bottleneck block (figure 5 of He et al.);
* :func:`plain_vs_residual` -- VGG-19, the 34-layer plain network and ResNet-34 (figure 3);
* :func:`unrolled_paths` -- three residual blocks unrolled into 2^3 paths (figure 1 of Veit et
  al. 2016, "Residual Networks Behave Like Ensembles of Relatively Shallow Networks").
"""

from __future__ import annotations

import itertools
import math

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Circle, FancyArrowPatch
from torch import nn

from lecture21.plots.architectures import _arrow, _box

__all__ = ["model_layers", "plain_vs_residual", "residual_blocks", "unrolled_paths"]


def _conv_label(conv: nn.Conv2d) -> str:
    k = conv.kernel_size[0]
    text = f"{k}×{k} conv, {conv.out_channels}"
    if conv.groups > 1:
        text += f", {conv.groups} групп"
    if conv.stride[0] > 1:
        text += f", /{conv.stride[0]}"
    return text


def residual_blocks(
    basic: nn.Module | None = None, bottleneck: nn.Module | None = None
) -> plt.Figure:
    """A basic block (ResNet-34's first) and a bottleneck block (ResNet-50's second): their
    layers, the identity shortcut and the addition, as in figure 5 of the paper."""
    from lecture21.measure import count_parameters
    from lecture21.models import create

    if basic is None or bottleneck is None:
        with torch.device("meta"):
            basic = basic or create("resnet34", "imagenet").layer1[0]
            bottleneck = bottleneck or create("resnet50", "imagenet").layer1[1]
    fig, axes = plt.subplots(1, 2, figsize=(9, 5.2))
    for ax, block, title in ((axes[0], basic, "обычный блок (ResNet-18/34)"),
                             (axes[1], bottleneck, "bottleneck (ResNet-50/101/152)")):
        convs = [m for m in block.branch_modules() if isinstance(m, nn.Conv2d)]
        top = len(convs) + 1.2
        _box(ax, 0.5, top, 2.0, 0.6, f"вход x: {convs[0].in_channels} каналов", "input")
        y = top
        for i, conv in enumerate(convs):
            y -= 1.0
            last = i == len(convs) - 1
            kind = "conv" if conv.kernel_size[0] > 1 else "other"
            _box(ax, 0.5, y, 2.0, 0.6, _conv_label(conv) + ("\nBN" if last else "\nBN, ReLU"),
                 kind)
            _arrow(ax, (1.5, y + 1.0), (1.5, y + 0.6))
        plus = y - 0.6
        ax.add_patch(Circle((1.5, plus), 0.22, facecolor="white", edgecolor="black"))
        ax.text(1.5, plus, "+", ha="center", va="center", fontsize=12)
        _arrow(ax, (1.5, y), (1.5, plus + 0.22))
        identity = block.downsample is None
        ax.add_patch(FancyArrowPatch((2.5, top + 0.3), (1.72, plus),
                                     connectionstyle="arc3,rad=-0.5", arrowstyle="-|>",
                                     mutation_scale=8, lw=1.0,
                                     linestyle="-" if identity else "--"))
        ax.text(3.35, (top + plus) / 2, "x\n(тождественное\nотображение)" if identity
                else "проекция\n1×1 conv", ha="center", va="center", fontsize=8)
        _box(ax, 0.5, plus - 1.0, 2.0, 0.5, "ReLU", "norm")
        _arrow(ax, (1.5, plus - 0.22), (1.5, plus - 0.5))
        ax.text(1.5, plus - 1.4, f"параметров блока (с BN): {count_parameters(block):,}".replace(
            ",", " "), ha="center", fontsize=8)
        ax.set_xlim(0, 4.2)
        ax.set_ylim(plus - 1.7, top + 0.8)
        ax.axis("off")
        ax.set_title(title, fontsize=10)
    fig.suptitle("Остаточные блоки: выход — F(x) + x (рис. 5 статьи He et al.)")
    fig.tight_layout()
    return fig


def model_layers(model: nn.Module, side: int = 224) -> list[dict]:
    """The layers of a chain network as figure 3 draws them: one row per convolution, pooling
    and fc (in the order the input meets them), with its label, output side and, for a
    residual block's convolutions, the block they belong to. Shapes come from one pass on the
    meta device."""
    from lecture21.models.resnet import ResidualBlock

    owners, shortcuts = {}, set()
    for index, block in enumerate(m for m in model.modules() if isinstance(m, ResidualBlock)):
        for module in block.branch_modules():
            owners[id(module)] = (index, block)
        if block.downsample is not None:
            shortcuts |= {id(m) for m in block.downsample.modules()}
    rows: list[dict] = []

    def record(module: nn.Module, inputs, output) -> None:
        if id(module) in shortcuts:  # drawn as the dashed arc, not as a row
            return
        if isinstance(module, nn.Conv2d):
            label = _conv_label(module)
        elif isinstance(module, nn.MaxPool2d):
            label = "max pool, /2"
        elif isinstance(module, nn.AdaptiveAvgPool2d):
            label = "avg pool"
        elif isinstance(module, nn.Linear):
            label = f"fc {module.out_features}"
        else:
            return
        block = owners.get(id(module))
        if block is not None and not block[1].residual:  # a plain network's block: no shortcut
            block = None
        rows.append({"label": label, "side": output.shape[-1] if output.dim() == 4 else 1,
                     "block": None if block is None else block[0],
                     "projection": block is not None and block[1].downsample is not None,
                     "kind": "conv" if isinstance(module, nn.Conv2d) else
                     "fc" if isinstance(module, nn.Linear) else "pool"})

    layers = [m for m in model.modules()
              if isinstance(m, nn.Conv2d | nn.MaxPool2d | nn.AdaptiveAvgPool2d | nn.Linear)]
    handles = [m.register_forward_hook(record) for m in layers]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, side, side, device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    return rows


def plain_vs_residual() -> plt.Figure:
    """Figure 3 of the paper from the models: VGG-19, the 34-layer plain network and ResNet-34,
    rows aligned by the map size; ResNet-34's shortcuts solid where they are the identity,
    dashed where a 1x1 projection doubles the channels. Titles give the multiply-adds."""
    from lecture21.measure import macs
    from lecture21.models import create
    from lecture21.models.resnet import ResNet

    with torch.device("meta"):
        columns = {
            "VGG-19": create("vgg19", "imagenet"),
            "34 слоя, без связей": ResNet("basic", (3, 4, 6, 3), shortcut="none"),
            "ResNet-34": create("resnet34", "imagenet"),
        }
    layers = {name: model_layers(model) for name, model in columns.items()}
    # rows of each map size: as many as the column that needs most, so the sizes line up
    sides = sorted({row["side"] for rows in layers.values() for row in rows}, reverse=True)
    needed = {s: max(sum(r["side"] == s for r in rows) for rows in layers.values()) for s in sides}
    start, y = {}, 0
    for side in sides:
        start[side] = y
        y += needed[side] + 0.6
    fig, ax = plt.subplots(figsize=(11, 0.3 * y + 1.5))
    for c, (name, rows) in enumerate(layers.items()):
        x = c * 3.4
        used = dict.fromkeys(sides, 0)
        centres = []
        for row in rows:
            top = -(start[row["side"]] + used[row["side"]])
            used[row["side"]] += 1
            _box(ax, x, top - 0.8, 2.2, 0.8, row["label"], row["kind"], fontsize=6.5)
            centres.append((row, top))
        for (_, a), (_, b) in zip(centres, centres[1:], strict=False):
            _arrow(ax, (x + 1.1, a - 0.8), (x + 1.1, b))
        blocks = {}
        for row, top in centres:
            if row["block"] is not None:
                blocks.setdefault(row["block"], []).append((row, top))
        for members in blocks.values():
            first, last = members[0][1], members[-1][1] - 0.8
            ax.add_patch(FancyArrowPatch(
                (x + 2.2, first + 0.05), (x + 2.2, last - 0.05), connectionstyle="arc3,rad=-0.6",
                arrowstyle="-|>", mutation_scale=6, lw=0.8,
                linestyle="--" if members[0][0]["projection"] else "-"))
        model = columns[name]
        with torch.device("meta"):
            count = macs(model, (1, 3, 224, 224))
        ax.text(x + 1.1, 1.0, f"{name}\n{count / 1e9:.1f} млрд умножений-сложений",
                ha="center", fontsize=9)
    for side in sides:
        ax.text(-0.4, -start[side] - 0.4, f"{side}×{side}" if side > 1 else "1×1", ha="right",
                va="center", fontsize=7, color="dimgray")
    ax.set_xlim(-1.4, len(columns) * 3.4)
    ax.set_ylim(-y, 2.0)
    ax.axis("off")
    ax.set_title("Рис. 3 статьи из моделей: VGG-19, простая сеть и ResNet-34 "
                 "(пунктир — проекция 1×1 при удвоении каналов)", fontsize=10)
    fig.tight_layout()
    return fig


def unrolled_paths(model: nn.Module | None = None, shown: int = 3) -> plt.Figure:
    """Veit et al. 2016, figure 1: the first ``shown`` residual blocks of ``model`` (default: the
    CIFAR ResNet-56), each ``y = x + f(x)``, unrolled into ``2^shown`` paths -- a choice, block
    by block, of ``f`` or the shortcut; beside it the number of paths of each length through all
    of the model's blocks (binomial: most paths are of middle length)."""
    from lecture21.models import create
    from lecture21.models.resnet import ResidualBlock

    if model is None:
        with torch.device("meta"):
            model = create("resnet56")
    names = [n for n, m in model.named_modules() if isinstance(m, ResidualBlock) and m.residual]
    if not 1 <= shown <= min(len(names), 5):
        raise ValueError(f"shown must be in [1, {min(len(names), 5)}] (blocks of the model), "
                         f"got {shown!r}")
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2),
                             gridspec_kw={"width_ratios": [1.0, 1.6, 1.3]})
    ax = axes[0]
    for i in range(shown):
        y = shown - i
        _box(ax, 0.6, y - 0.35, 1.2, 0.7, f"f{i + 1}\n{names[i]}", "conv", fontsize=7)
        ax.add_patch(FancyArrowPatch((0.6, y + 0.5), (0.6, y - 0.5), connectionstyle="arc3,rad=0.7",
                                     arrowstyle="-|>", mutation_scale=7, lw=0.8))
        ax.text(1.2, y - 0.58, "+", ha="center", va="center", fontsize=10)
    ax.text(1.2, shown + 0.6, "x", ha="center")
    ax.set_xlim(-0.4, 2.4)
    ax.set_ylim(0, shown + 1)
    ax.axis("off")
    ax.set_title(f"{shown} остаточных блока сети", fontsize=10)

    ax = axes[1]
    paths = sorted(itertools.product((0, 1), repeat=shown), key=sum)
    for row, path in enumerate(paths):
        y = len(paths) - row
        ax.plot([0, shown + 1], [y, y], color="lightgray", lw=0.8, zorder=0)
        for i, used in enumerate(path):
            if used:
                _box(ax, i + 0.7, y - 0.3, 0.6, 0.6, f"f{i + 1}", "conv", fontsize=7)
        ax.text(shown + 1.2, y, f"длина {sum(path)}", va="center", fontsize=7)
    ax.set_xlim(0, shown + 2)
    ax.set_ylim(0.3, len(paths) + 0.7)
    ax.axis("off")
    formula = "".join(f"(1+f{i})" for i in range(shown, 0, -1))
    ax.set_title(f"развёрнуто: 2^{shown} = {len(paths)} путей\n(для линейных f: "
                 f"y = {formula}·x)", fontsize=9)

    ax = axes[2]
    deep = len(names)
    counts = [math.comb(deep, k) for k in range(deep + 1)]
    ax.bar(range(deep + 1), [c / 1e6 for c in counts], color="#4c72b0")
    ax.set_xlabel("длина пути (число блоков f на пути)")
    ax.set_ylabel("число путей, млн")
    ax.set_title(f"все {deep} блоков: 2^{deep} ≈ {2**deep / 1e6:.0f} млн путей", fontsize=9)
    fig.suptitle("ResNet как ансамбль путей разной длины (Veit et al., 2016)")
    fig.tight_layout()
    return fig


FIGURES = {
    "resnet-blocks": residual_blocks,
    "resnet34-vgg19-plain": plain_vs_residual,
    "resnet-unrolled-paths": unrolled_paths,
}
