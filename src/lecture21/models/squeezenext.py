"""SqueezeNext (Gholami et al. 2018, "SqueezeNext: Hardware-Aware Neural Network Design").

Slide "SqueezeNext". The slide names only the 7x7 stem; the paper's contribution is the block
(its Figure 1, right): a *two-stage* 1x1 squeeze (C -> C/2 -> C/4 maps), a 3x3 convolution
split into two separable ones, 1x3 and 3x1 (C/4 -> C/2 -> C/2 maps), a 1x1 expansion back to
the block's output maps and a ResNet-style shortcut. Every convolution is followed by BN and
ReLU. :func:`block_parameters` counts the weights of such a block against a plain 3x3
convolution and a Fire module.

1.0-SqNxt-23 (the paper's Figure 4 / Table 2): a 7x7/2 convolution with 64 maps and a 3x3/2 max
pooling, four stages of 6, 6, 8, 1 blocks with 32, 64, 128, 256 output maps (each stage after the
first starts with a stride-2 block), a 1x1 convolution to 128 maps, global average pooling and
one fully connected layer: 0.72 M parameters and 282 M multiply-adds (Table 2).

Details the paper leaves to the authors' Caffe definition, as pytorchcv's port (the reference,
``sqnxt23_w1``) has them: the stem's padding is 1; the first squeeze of a stride-2 block keeps
all C maps (and carries the stride), that of a block that reduces the maps squeezes by 4; the
separable pair is applied 1x3 first, then 3x1; a
block whose maps or resolution change has a 1x1 conv-BN-ReLU shortcut; convolutions have biases
although BN follows them.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from lecture21.models.registry import Reference, register

#: 1.0-SqNxt-23: blocks per stage and their output maps.
SQNXT23 = ((6, 32), (6, 64), (8, 128), (1, 256))


class ConvBNReLU(nn.Sequential):
    """Convolution (with bias, as in the reference), BN, ReLU."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int | tuple[int, int],
        stride: int = 1, padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__(
            OrderedDict(
                conv=nn.Conv2d(in_channels, out_channels, kernel, stride, padding),
                bn=nn.BatchNorm2d(out_channels),
                relu=nn.ReLU(inplace=True),
            )
        )


class SqueezeNextBlock(nn.Module):
    """1x1 squeeze, 1x1 squeeze, 1x3, 3x1, 1x1 expansion, plus the shortcut, then ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        if stride == 2:
            reduction = 1
        elif in_channels > out_channels:
            reduction = 4
        else:
            reduction = 2
        mid = in_channels // reduction
        self.squeeze1 = ConvBNReLU(in_channels, mid, 1, stride)
        self.squeeze2 = ConvBNReLU(mid, mid // 2, 1)
        self.conv1x3 = ConvBNReLU(mid // 2, mid, (1, 3), padding=(0, 1))
        self.conv3x1 = ConvBNReLU(mid, mid, (3, 1), padding=(1, 0))
        self.expand = ConvBNReLU(mid, out_channels, 1)
        if stride != 1 or in_channels != out_channels:
            self.shortcut: nn.Module = ConvBNReLU(in_channels, out_channels, 1, stride)
        else:
            self.shortcut = nn.Identity()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = self.shortcut(x)
        x = self.conv3x1(self.conv1x3(self.squeeze2(self.squeeze1(x))))
        return self.relu(self.expand(x) + identity)


def block_parameters(channels: int, design: str) -> int:
    """Weights (no biases) of a block from ``channels`` to ``channels`` maps.

    ``"plain"``: one 3x3 convolution; ``"fire"``: SqueezeNet's Fire module with its paper's
    ratios (squeeze to C/8, expand to C/2 1x1 + C/2 3x3); ``"squeezenext"``: 1x1 C->C/2,
    1x1 C/2->C/4, 1x3 C/4->C/2, 3x1 C/2->C/2, 1x1 C/2->C.
    """
    c = channels
    if design == "plain":
        return 9 * c * c
    if design == "fire":
        return c * (c // 8) + (c // 8) * (c // 2) + 9 * (c // 8) * (c // 2)
    if design == "squeezenext":
        return (c * (c // 2) + (c // 2) * (c // 4) + 3 * (c // 4) * (c // 2)
                + 3 * (c // 2) * (c // 2) + (c // 2) * c)
    raise ValueError(f"design must be 'plain', 'fire' or 'squeezenext', got {design!r}")


class SqueezeNext(nn.Module):
    """Stem, four stages of ``SqueezeNextBlock`` s, 1x1 conv-BN-ReLU, global pooling, FC.

    ``stem="imagenet"``: Conv 7x7/2 (padding 1) and MaxPool 3x3/2 (ceil); ``stem="cifar"``: Conv
    3x3/1 and no pooling. ``width`` is the paper's width multiplier (1.0-SqNxt, 2.0-SqNxt).
    """

    def __init__(
        self,
        stages: tuple[tuple[int, int], ...] = SQNXT23,
        num_classes: int = 1000,
        width: float = 1.0,
        stem: str = "imagenet",
    ) -> None:
        super().__init__()
        if not width > 0:
            raise ValueError(f"width must be positive, got {width!r}")
        if stem not in {"imagenet", "cifar"}:
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
        channels = int(64 * width)
        if stem == "imagenet":
            self.stem = nn.Sequential(
                OrderedDict(
                    conv=ConvBNReLU(3, channels, 7, 2, 1),
                    pool=nn.MaxPool2d(3, 2, ceil_mode=True),
                )
            )
        else:
            self.stem = nn.Sequential(OrderedDict(conv=ConvBNReLU(3, channels, 3, 1, 1)))
        stage_list = OrderedDict()
        for i, (blocks, out) in enumerate(stages, start=1):
            out = int(out * width)
            layers = OrderedDict()
            for j in range(1, blocks + 1):
                stride = 2 if j == 1 and i > 1 else 1
                layers[f"block{j}"] = SqueezeNextBlock(channels, out, stride)
                channels = out
            stage_list[f"stage{i}"] = nn.Sequential(layers)
        self.stages = nn.Sequential(stage_list)
        final = int(128 * width)
        self.final = ConvBNReLU(channels, final, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(final, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.final(self.stages(self.stem(x))))
        return self.fc(torch.flatten(x, 1))


@register("sqnxt23", variants=("cifar", "imagenet"), references=(
    # pytorchcv's weights come from its own store (pytorchcv's get_model(pretrained=True)).
    Reference("pytorchcv", "sqnxt23_w1"),
))
def sqnxt23(variant: str = "cifar", num_classes: int = 10, width: float = 1.0) -> SqueezeNext:
    """1.0-SqNxt-23 (``width=2.0``: 2.0-SqNxt-23). ``cifar``: a 3x3/1 stem without pooling
    (32 -> 32 -> 16 -> 8 -> 4 through the stages), the same blocks."""
    stem = "imagenet" if variant == "imagenet" else "cifar"
    return SqueezeNext(SQNXT23, num_classes, width, stem)
