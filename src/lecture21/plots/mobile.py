"""Figures of the mobile architectures (slides "SqueezeNet", "SqueezeNext", "ShuffleNet"),
drawn from the model objects: kernels and channel counts come from the modules, the channel
permutation from running the model's own ``ChannelShuffle``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Rectangle
from torch import nn

from lecture21.plots.architectures import _arrow, _box

__all__ = ["accuracy_against_cost", "channel_shuffle", "fire_module", "group_mixing",
           "shufflenet_unit", "squeezenext_block"]


def _kernel(conv: nn.Conv2d) -> str:
    h, w = conv.kernel_size
    kind = " depthwise" if conv.groups == conv.in_channels > 1 else (
        f" groups={conv.groups}" if conv.groups > 1 else "")
    return f"{h}×{w}{kind}"


def fire_module(fire: nn.Module | None = None) -> plt.Figure:
    """SqueezeNet's Fire module (the paper's Figure 1): squeeze 1x1, then expand 1x1 and 3x3
    side by side, concatenated. Default: ``fire2`` of SqueezeNet 1.0."""
    from lecture21.models import create

    fire = fire or create("squeezenet1_0", "imagenet").features.fire2
    fig, ax = plt.subplots(figsize=(6, 4.2))
    _box(ax, 1.5, 4.0, 3.0, 0.7, f"вход: {fire.squeeze.in_channels} карт", "input")
    _box(ax, 1.5, 2.7, 3.0, 0.8, f"squeeze: conv 1×1, {fire.squeeze.out_channels} карт\nReLU",
         "other")
    for x, conv in ((0.2, fire.expand1x1), (3.3, fire.expand3x3)):
        _box(ax, x, 1.3, 2.5, 0.8, f"expand: conv {_kernel(conv)}\n{conv.out_channels} карт, "
             "ReLU", "conv")
        _arrow(ax, (3.0, 2.7), (x + 1.25, 2.1))
        _arrow(ax, (x + 1.25, 1.3), (3.0, 0.8))
    _arrow(ax, (3.0, 4.0), (3.0, 3.5))
    _box(ax, 1.5, 0.1, 3.0, 0.7, f"конкатенация: {fire.out_channels} карт", "fc")
    ax.set_xlim(0, 6)
    ax.set_ylim(0, 4.9)
    ax.axis("off")
    ax.set_title("Fire-модуль SqueezeNet: сжатие 1×1, затем расширение 1×1 и 3×3")
    return fig


def squeezenext_block(block: nn.Module | None = None) -> plt.Figure:
    """The SqueezeNext block (the paper's Figure 1, right): two 1x1 squeezes, 1x3 and 3x1
    separable convolutions, 1x1 expansion, shortcut. Default: the second block of stage 2 of
    1.0-SqNxt-23 (64 maps)."""
    from lecture21.models import create

    block = block or create("sqnxt23", "imagenet").stages.stage2.block2
    steps = [("squeeze1", "сжатие 1"), ("squeeze2", "сжатие 2"), ("conv1x3", "раздельная"),
             ("conv3x1", "раздельная"), ("expand", "расширение")]
    fig, ax = plt.subplots(figsize=(6, 6.2))
    first = block.squeeze1.conv
    _box(ax, 1.0, 6.0, 3.0, 0.6, f"вход: {first.in_channels} карт", "input")
    y = 6.0
    for name, role in steps:
        conv = getattr(block, name).conv
        y -= 1.0
        kind = "conv" if conv.kernel_size != (1, 1) else "other"
        _box(ax, 1.0, y, 3.0, 0.7, f"{role}: conv {_kernel(conv)}\n{conv.in_channels} → "
             f"{conv.out_channels} карт, BN, ReLU", kind, fontsize=7)
        _arrow(ax, (2.5, y + 1.0), (2.5, y + 0.7))
    y -= 1.0
    _box(ax, 1.0, y, 3.0, 0.6, "сложение, ReLU", "fc")
    _arrow(ax, (2.5, y + 1.0), (2.5, y + 0.6))
    shortcut = ("тождественная\nсвязь" if isinstance(block.shortcut, nn.Identity)
                else f"conv 1×1\n{block.shortcut.conv.out_channels} карт")
    ax.annotate("", (4.0, y + 0.3), (4.0, 6.3),
                arrowprops={"arrowstyle": "-|>", "connectionstyle": "bar,fraction=-0.15",
                            "lw": 0.9})
    ax.text(5.0, (y + 6.6) / 2, shortcut, ha="center", va="center", fontsize=8)
    ax.set_xlim(0.5, 5.9)
    ax.set_ylim(y - 0.2, 6.8)
    ax.axis("off")
    ax.set_title("Блок SqueezeNext: двухэтапное сжатие и свёртки 1×3 + 3×1")
    return fig


def channel_shuffle(ax: plt.Axes, groups: int, per_group: int = 4) -> None:
    """Maps coloured by group, before and after the model's ``ChannelShuffle(groups)``."""
    from lecture21.models.shufflenet import ChannelShuffle

    channels = groups * per_group
    order = ChannelShuffle(groups)(torch.arange(float(channels)).view(1, channels, 1, 1))
    order = order.flatten().long().tolist()
    for row, (label, seq) in enumerate((("до", list(range(channels))), ("после", order))):
        y = 1.6 - 1.6 * row
        ax.text(-0.3, y + 0.4, label, ha="right", va="center", fontsize=8)
        for position, channel in enumerate(seq):
            ax.add_patch(Rectangle((position, y), 0.9, 0.8, color=f"C{channel // per_group}"))
            ax.text(position + 0.45, y + 0.4, str(channel), ha="center", va="center",
                    fontsize=7, color="white")
    for position, channel in enumerate(order):  # where each map moved
        ax.plot([channel + 0.45, position + 0.45], [1.6, 0.8], color="grey", lw=0.5)
    ax.set_xlim(-1.2, channels)
    ax.set_ylim(-0.2, 2.6)
    ax.axis("off")
    ax.set_title(f"Перемешивание каналов, g = {groups}: из каждой группы — в каждую",
                 fontsize=9)


def shufflenet_unit(unit: nn.Module | None = None) -> plt.Figure:
    """The ShuffleNet v1 unit (the paper's Figure 2b) with the channel shuffle after the first
    grouped 1x1 convolution, and what the shuffle does to the maps. Default: the second unit of
    stage 3 of ShuffleNet 1x, g=3."""
    from lecture21.models import create

    unit = unit or create("shufflenet_v1", "imagenet").stage3[1]
    fig, (ax, right) = plt.subplots(1, 2, figsize=(11, 5.2), width_ratios=(1, 1.3))
    steps = [(unit.gconv1, "BN, ReLU"), ("shuffle", ""), (unit.dwconv, "BN"),
             (unit.gconv2, "BN")]
    _box(ax, 1.0, 5.0, 3.0, 0.6, f"вход: {unit.gconv1.in_channels} карт", "input")
    y = 5.0
    for item, after in steps:
        y -= 1.0
        if item == "shuffle":
            groups = getattr(unit.shuffle, "groups", None)
            text = f"перемешивание каналов\n(g = {groups})" if groups else "без перемешивания"
            _box(ax, 1.0, y, 3.0, 0.7, text, "norm", fontsize=7)
        else:
            _box(ax, 1.0, y, 3.0, 0.7, f"conv {_kernel(item)}\n{item.in_channels} → "
                 f"{item.out_channels} карт, {after}", "conv" if item.groups > 1 else "other",
                 fontsize=7)
        _arrow(ax, (2.5, y + 1.0), (2.5, y + 0.7))
    y -= 1.0
    joined = "сложение" if unit.stride == 1 else "конкатенация"
    _box(ax, 1.0, y, 3.0, 0.6, f"{joined}, ReLU", "fc")
    _arrow(ax, (2.5, y + 1.0), (2.5, y + 0.6))
    ax.annotate("", (4.0, y + 0.3), (4.0, 5.3),
                arrowprops={"arrowstyle": "-|>", "connectionstyle": "bar,fraction=-0.15",
                            "lw": 0.9})
    ax.text(4.9, (y + 5.6) / 2, "тождественная\nсвязь" if unit.stride == 1
            else "avg pool 3×3/2", ha="center", va="center", fontsize=8)
    ax.set_xlim(0.5, 5.8)
    ax.set_ylim(y - 0.2, 5.8)
    ax.axis("off")
    ax.set_title("Блок ShuffleNet (групповые 1×1 и перемешивание)", fontsize=10)
    channel_shuffle(right, unit.gconv2.groups)
    fig.tight_layout()
    return fig


#: Redrawn into img/ by ``python -m lecture21.plots`` (``make figures``).
FIGURES = {
    "squeezenet-fire-module": fire_module,
    "squeezenext-block": squeezenext_block,
    "shufflenet-unit": shufflenet_unit,
}


def group_mixing(reach: dict[str, torch.Tensor]) -> plt.Figure:
    """One panel per ``{title: matrix}`` of
    :func:`lecture21.models.shufflenet.group_reach`: how strongly each output group depends on
    each input group (white: not at all)."""
    fig, axes = plt.subplots(1, len(reach), figsize=(3.6 * len(reach), 3.3), squeeze=False)
    for ax, (title, matrix) in zip(axes[0], reach.items()):
        g = matrix.shape[0]
        ax.imshow((matrix / matrix.max()).numpy(), cmap="Greys", vmin=0, vmax=1)
        for i in range(g):
            for j in range(g):
                ax.text(j, i, "0" if matrix[i, j] == 0 else "≠ 0", ha="center", va="center",
                        color="C3", fontsize=9)
        ax.set_xticks(range(g), [f"вх. {j + 1}" for j in range(g)])
        ax.set_yticks(range(g), [f"вых. {i + 1}" for i in range(g)])
        ax.set_title(title, fontsize=10)
    fig.suptitle("Какие группы каналов входа влияют на группы выхода (два блока, g = 3)")
    fig.tight_layout()
    return fig


def accuracy_against_cost(
    names: list[str], top1: list[float], macs: list[float], latency_ms: list[float],
    title: str = "",
) -> plt.Figure:
    """ImageNet top-1 against multiply-adds (left) and against measured CPU latency (right),
    both axes of cost logarithmic: where the two panels order the networks differently, MACs
    do not predict speed."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for ax, cost, label in ((left, [m / 1e6 for m in macs], "умножения-сложения, млн (лог.)"),
                            (right, latency_ms, "задержка CPU, мс (лог.)")):
        ax.scatter(cost, top1, color="C0")
        for name, x, y in zip(names, cost, top1):
            ax.annotate(name, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("top-1 ImageNet, %")
        ax.grid(alpha=0.3)
    left.set_title("Точность против MAC")
    right.set_title("Точность против измеренной задержки")
    fig.suptitle(title or "Мобильные сети, ResNet-50 и VGG-16 при 224×224")
    fig.tight_layout()
    return fig
