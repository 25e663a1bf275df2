"""Xception (Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017).

Slide "Xception": the Inception hypothesis taken to the extreme -- cross-channel and spatial
correlations are mapped fully separately, by depthwise separable convolutions (a 3x3 per
channel, then a 1x1 across channels, no non-linearity between them, section 3), stacked
linearly with residual connections. Figure 5 of the paper: the entry flow (two 3x3 convolutions
and three blocks that halve the map: 128, 256, 728 channels), the middle flow (eight blocks of
three separable convolutions at 728 channels, each with an identity shortcut) and the exit flow
(a block to 1024 channels, then separable convolutions to 1536 and 2048, global pooling, fc).
Every residual block but the middle ones has a strided 1x1 conv-BN projection shortcut and ends
with a 3x3/2 max-pool. 22.8 M parameters (table 3 of the paper: 22,855,952).

Module names equal timm's ``legacy_xception`` (the Keras weights ported by Cadene), so its
weights load by name. Variants: ``"imagenet"`` (299x299 inputs, unpadded stem convolutions as
in the paper; at least 71 px), ``"cifar"`` (32x32: stride-1 padded stem, so the four
downsamplings leave a 2x2 map; ``width`` scales every channel count and ``middle_blocks`` sets
the middle flow's length, so that a CPU can train it).
"""

from __future__ import annotations

import torch
from torch import nn

from lecture21.models.registry import Reference, register


class SeparableConv2d(nn.Module):
    """Depthwise ``kernel x kernel`` convolution per channel (``conv1``), then a 1x1
    ``pointwise`` convolution across channels; no BN or ReLU between them (section 4.7)."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 3, padding: int = 1
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, in_channels, kernel_size, 1, padding,
                               groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.conv1(x))


class Block(nn.Module):
    """``reps`` times (ReLU, separable 3x3, BN), then a 3x3/2 max-pool if ``stride`` is 2, plus
    the shortcut: the identity, or a strided 1x1 conv-BN (``skip``, ``skipbn``) where the shape
    changes. ``grow_first``: the first separable convolution changes the width (else the last);
    ``start_with_relu=False`` for the first block, which follows a ReLU already."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        reps: int,
        stride: int = 1,
        start_with_relu: bool = True,
        grow_first: bool = True,
    ) -> None:
        super().__init__()
        self.skip: nn.Module | None = None
        self.skipbn: nn.Module | None = None
        if out_channels != in_channels or stride != 1:
            self.skip = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
            self.skipbn = nn.BatchNorm2d(out_channels)
        layers: list[nn.Module] = []
        for i in range(reps):
            if grow_first:
                inc, outc = (in_channels if i == 0 else out_channels), out_channels
            else:
                inc, outc = in_channels, (in_channels if i < reps - 1 else out_channels)
            # the first ReLU must not overwrite the block's input: the shortcut still needs it
            layers.append(nn.ReLU(inplace=i > 0))
            layers.append(SeparableConv2d(inc, outc))
            layers.append(nn.BatchNorm2d(outc))
        if not start_with_relu:
            layers = layers[1:]
        if stride != 1:
            layers.append(nn.MaxPool2d(3, stride, 1))
        self.rep = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.skip is None else self.skipbn(self.skip(x))
        return self.rep(x) + shortcut


class Xception(nn.Module):
    """Entry flow (``conv1``, ``conv2``, ``block1..3``), middle flow (``block4..``), exit flow
    (the last block, ``conv3``, ``conv4``), global average pool, ``fc`` (figure 5)."""

    def __init__(
        self,
        num_classes: int = 1000,
        stem: str = "imagenet",
        width: float = 1.0,
        middle_blocks: int = 8,
    ) -> None:
        super().__init__()
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
        if not width > 0:
            raise ValueError(f"width must be positive, got {width!r}")
        if not isinstance(middle_blocks, int) or middle_blocks < 0:
            raise ValueError(f"middle_blocks must be an int >= 0, got {middle_blocks!r}")

        def c(channels: int) -> int:
            return max(8, round(channels * width))

        stride, padding = (2, 0) if stem == "imagenet" else (1, 1)
        self.conv1 = nn.Conv2d(3, c(32), 3, stride, padding, bias=False)
        self.bn1 = nn.BatchNorm2d(c(32))
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c(32), c(64), 3, 1, padding, bias=False)
        self.bn2 = nn.BatchNorm2d(c(64))
        self.act2 = nn.ReLU(inplace=True)
        # entry flow
        self.block1 = Block(c(64), c(128), 2, 2, start_with_relu=False)
        self.block2 = Block(c(128), c(256), 2, 2)
        self.block3 = Block(c(256), c(728), 2, 2)
        # middle flow: block4 .. block(3 + middle_blocks)
        for index in range(4, 4 + middle_blocks):
            setattr(self, f"block{index}", Block(c(728), c(728), 3, 1))
        # exit flow
        self.blocks = 4 + middle_blocks
        setattr(self, f"block{self.blocks}", Block(c(728), c(1024), 2, 2, grow_first=False))
        self.conv3 = SeparableConv2d(c(1024), c(1536))
        self.bn3 = nn.BatchNorm2d(c(1536))
        self.act3 = nn.ReLU(inplace=True)
        self.conv4 = SeparableConv2d(c(1536), c(2048))
        self.bn4 = nn.BatchNorm2d(c(2048))
        self.act4 = nn.ReLU(inplace=True)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c(2048), num_classes)
        for module in self.modules():  # timm's (and Keras') initialisation of the convolutions
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.act2(self.bn2(self.conv2(x)))
        for index in range(1, self.blocks + 1):
            x = getattr(self, f"block{index}")(x)
        x = self.act3(self.bn3(self.conv3(x)))
        return self.act4(self.bn4(self.conv4(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.global_pool(self.forward_features(x)), 1))


def options_from_timm(reference: nn.Module) -> dict:
    """Read timm's ``legacy_xception``: the middle flow's length (blocks between the entry
    flow's three and the exit flow's one) and the width (checked: the paper's)."""
    blocks = sum(1 for name, _ in reference.named_children() if name.startswith("block"))
    if reference.conv1.out_channels != 32:
        raise ValueError(f"reference must have Xception's 32 stem filters, got "
                         f"{reference.conv1.out_channels}")
    return {"middle_blocks": blocks - 4}


@register("xception", variants=("imagenet", "cifar"), references=(
    Reference("timm", "legacy_xception", "legacy_xception.tf_in1k", options=options_from_timm),
))
def xception(
    variant: str = "imagenet",
    num_classes: int = 1000,
    width: float = 1.0,
    middle_blocks: int = 8,
) -> Xception:
    """Xception of figure 5 of the paper (``"cifar"``: stride-1 stem for 32x32 inputs)."""
    return Xception(num_classes, variant, width, middle_blocks)
