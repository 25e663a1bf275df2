"""ResNet-9, the fast CIFAR-10 network of David Page's DAWNBench entry.

Page, "How to train your ResNet" (Myrtle.ai blog, 2018): 94 % on CIFAR-10 in 24 epochs, 79 s
on one V100, then the fastest entry of the DAWNBench competition. Slide "Быстрое обучение":
a residual network only nine layers deep, wide (up to 512 channels) and shallow, so that the
GPU is busy with large convolutions, with max-pooling instead of strided convolutions, two
residual blocks, and the final logits scaled by 1/8.

    prep    conv(64)                          32x32
    layer1  conv(128) pool + Residual(128)    16x16
    layer2  conv(256) pool                     8x8
    layer3  conv(512) pool + Residual(512)     4x4
    head    global max-pool, linear, x 0.125
"""

from __future__ import annotations

import torch
from torch import nn

from lecture21.models.registry import register


class ConvBN(nn.Sequential):
    """3x3 convolution, batch norm, ReLU, then an optional 2x2 max-pool (Page's ``conv_bn``)."""

    def __init__(self, in_channels: int, out_channels: int, pool: bool = False) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        ]
        if pool:
            layers.append(nn.MaxPool2d(2))
        super().__init__(*layers)


class Residual(nn.Module):
    """``x + F(x)`` with ``F`` two ``ConvBN`` layers of the same width (no projection)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.res1 = ConvBN(channels, channels)
        self.res2 = ConvBN(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res2(self.res1(x))


class ResNet9(nn.Module):
    """Page's ResNet-9; ``width`` scales every layer (64 in the paper, 32 for a CPU run)."""

    def __init__(self, num_classes: int = 10, width: int = 64, scale: float = 0.125) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be a positive int, got {width!r}")
        w = width
        self.prep = ConvBN(3, w)
        self.layer1 = nn.Sequential(ConvBN(w, 2 * w, pool=True), Residual(2 * w))
        self.layer2 = ConvBN(2 * w, 4 * w, pool=True)
        self.layer3 = nn.Sequential(ConvBN(4 * w, 8 * w, pool=True), Residual(8 * w))
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Linear(8 * w, num_classes, bias=False)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer3(self.layer2(self.layer1(self.prep(x))))
        return self.fc(torch.flatten(self.pool(x), 1)) * self.scale


@register("resnet9", variants=("cifar",))
def resnet9(variant: str = "cifar", num_classes: int = 10, width: int = 64) -> ResNet9:
    """Page's DAWNBench ResNet-9 for 32x32 images (6.57 M parameters at ``width=64``)."""
    return ResNet9(num_classes, width)
