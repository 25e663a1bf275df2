"""Convolutional highway networks (Srivastava, Greff, Schmidhuber, "Highway Networks" 2015 and
"Training Very Deep Networks", NIPS 2015).

Slide "Highway networks": a layer ``y = T(x) * F(x) + (1 - T(x)) * x`` with a learned transform
gate ``T(x) = sigmoid(W_T * x + b_T)``: where the gate is shut the input is carried unchanged.
ResNet is the gate fixed open on both paths (``y = F(x) + x``). The papers advise a negative
gate bias ``b_T`` at initialisation ("-1, -3 etc.", section 2.2 of "Highway Networks") so the
network starts close to carrying its input; we use -2 by default. "Convolutional highway layers
utilize weight-sharing and local receptive fields for both H and T transforms" with the same
receptive field: here ``F`` and ``T`` both see 3x3.

:func:`highway20` has the depth and widths of ``plain20`` / ``resnet20`` (``resnet_cifar.py``):
a 3x3 stem with 16 filters, three stages of three highway blocks (16, 32, 64 channels), each
block's ``F`` two 3x3 conv-BN layers with ReLU; where a stage halves the map and doubles the
width, the carried ``x`` is the parameter-free option-A shortcut of the CIFAR ResNets.
"""

from __future__ import annotations

import torch
from torch import nn

from lecture21.models.registry import register
from lecture21.models.resnet import ZeroPadShortcut


class HighwayBlock(nn.Module):
    """``y = T(x) * F(x) + (1 - T(x)) * carry(x)``, ``F = relu(BN(conv(relu(BN(conv(x))))))``,
    ``T = sigmoid(conv3x3(x) + b_T)`` per channel and position, ``b_T = gate_bias``."""

    def __init__(
        self, in_channels: int, channels: int, stride: int = 1, gate_bias: float = -2.0
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.gate = nn.Conv2d(in_channels, channels, 3, stride, padding=1, bias=True)
        nn.init.constant_(self.gate.bias, gate_bias)
        self.carry: nn.Module = nn.Identity()
        if stride != 1 or in_channels != channels:
            self.carry = ZeroPadShortcut(in_channels, channels, stride)

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """``F(x)``, the layer's transformation (a plain block)."""
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)))

    def transform_gate(self, x: torch.Tensor) -> torch.Tensor:
        """``T(x)`` in (0, 1): how much of ``F(x)`` passes; ``1 - T(x)`` of the input is carried."""
        return torch.sigmoid(self.gate(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.transform_gate(x)
        return gate * self.transform(x) + (1 - gate) * self.carry(x)


class HighwayNetwork(nn.Module):
    """3x3 stem, stages ``layer1..3`` of :class:`HighwayBlock`, global average pool, ``fc``."""

    def __init__(
        self,
        blocks_per_stage: int = 3,
        num_classes: int = 10,
        width: int = 16,
        gate_bias: float = -2.0,
    ) -> None:
        super().__init__()
        if not isinstance(blocks_per_stage, int) or blocks_per_stage < 1:
            raise ValueError(f"blocks_per_stage must be a positive int, got {blocks_per_stage!r}")
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive int, got {width!r}")
        self.conv1 = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        channels = width
        for index in range(3):
            out = width * 2**index
            layer = []
            for i in range(blocks_per_stage):
                stride = 2 if index > 0 and i == 0 else 1
                layer.append(HighwayBlock(channels, out, stride, gate_bias))
                channels = out
            setattr(self, f"layer{index + 1}", nn.Sequential(*layer))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d) and module.bias is None:  # gates keep their bias
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


@register("highway20", variants=("cifar",))
def highway20(
    variant: str = "cifar", num_classes: int = 10, gate_bias: float = -2.0, width: int = 16
) -> HighwayNetwork:
    """A 20-layer convolutional highway network: ``plain20``'s layers, each block gated."""
    return HighwayNetwork(3, num_classes, width, gate_bias)


@register("highway56", variants=("cifar",))
def highway56(
    variant: str = "cifar", num_classes: int = 10, gate_bias: float = -2.0, width: int = 16
) -> HighwayNetwork:
    """A 56-layer convolutional highway network: ``plain56``'s layers, each block gated."""
    return HighwayNetwork(9, num_classes, width, gate_bias)
