"""ResNet-18 (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016).

Slide "ResNet": a stack of ``BasicBlock``s, each computing ``relu(x + F(x))`` with ``F`` two 3x3
convolutions with batch normalisation; when a stage halves the map and doubles the channels the
shortcut is a strided 1x1 convolution (option B of the paper). Two variants:

* ``"imagenet"``: the paper's network for 224x224 inputs: 7x7 stride-2 stem and 3x3 max-pool.
  Its modules are named as in torchvision's ``resnet18`` so that torchvision's weights load
  into it by name, unchanged (``lecture21.pretrained.load("resnet18")``; the tests prove the
  outputs equal);
* ``"cifar"``: the usual CIFAR-10 adaptation (as in kuangliu/pytorch-cifar): a 3x3 stride-1 stem
  and no max-pool, so the four stages see 32, 16, 8 and 4 pixel maps.
"""

from __future__ import annotations

import torch
from torch import nn

from lecture21.models.registry import Reference, register


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers and an identity (or 1x1 conv-BN) shortcut: ``relu(x + F(x))``."""

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride, bias=False),
                nn.BatchNorm2d(channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + shortcut)


class ResNet(nn.Module):
    """Stem, four stages of ``BasicBlock``s (64, 128, 256, 512 channels), global pool, fc."""

    def __init__(
        self,
        blocks: tuple[int, ...] = (2, 2, 2, 2),
        num_classes: int = 1000,
        stem: str = "imagenet",
        width: int = 64,
    ) -> None:
        super().__init__()
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
        if len(blocks) != 4 or min(blocks) < 1:
            raise ValueError(f"blocks must be four positive counts, got {blocks!r}")
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(3, stride=2, padding=1)
        else:
            self.conv1 = nn.Conv2d(3, width, 3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        channels = width
        for index, count in enumerate(blocks):
            out = width * 2**index
            stride = 1 if index == 0 else 2
            layer = [BasicBlock(channels, out, stride)]
            layer += [BasicBlock(out, out) for _ in range(count - 1)]
            setattr(self, f"layer{index + 1}", nn.Sequential(*layer))
            channels = out
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        for module in self.modules():  # torchvision's initialisation
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def options_from_torchvision(reference: nn.Module) -> dict:
    """Our options for torchvision's ``resnet18``: its width, checked to be ResNet-18's stages."""
    blocks = tuple(len(getattr(reference, f"layer{i}", ())) for i in range(1, 5))
    if blocks != (2, 2, 2, 2):
        raise ValueError(f"reference must have ResNet-18's stages (2, 2, 2, 2), got {blocks}")
    return {"width": reference.conv1.out_channels}


@register("resnet18", variants=("cifar", "imagenet"), references=(
    Reference("torchvision", "resnet18", "ResNet18_Weights.IMAGENET1K_V1",
              options=options_from_torchvision),
))
def resnet18(variant: str = "cifar", num_classes: int = 10, width: int = 64) -> ResNet:
    """ResNet-18: 2 ``BasicBlock``s per stage; ``variant`` picks the stem (see the module)."""
    return ResNet((2, 2, 2, 2), num_classes, stem=variant, width=width)
