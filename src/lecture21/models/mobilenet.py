"""MobileNet v1 (Howard et al. 2017, "MobileNets: Efficient Convolutional Neural Networks for
Mobile Vision Applications").

Slide "MobileNet": a standard KxK convolution from M to N maps is replaced by a depthwise
separable convolution, a KxK depthwise convolution (one filter per input map, ``groups=M``)
followed by a 1x1 pointwise convolution that mixes the maps, each followed by BN and ReLU. Its
cost relative to the standard convolution is ``1/N + 1/K^2`` (section 3.1): 8-9 times fewer
multiply-adds for K=3.

The network (the paper's Table 1): a standard 3x3/2 convolution with 32 maps, thirteen
depthwise separable layers (64, 128, 128, 256, 256, 512 x 6, 1024, 1024; stride 2 where the
resolution halves), global average pooling and ONE fully connected layer with softmax. Two
hyperparameters shrink it (section 3.3 and 3.4):

* the width multiplier ``alpha`` (``width``): every layer has ``alpha * N`` maps, cost and
  parameters fall roughly as ``alpha^2``;
* the resolution multiplier ``rho``: the input is ``rho * 224`` pixels wide (224, 192, 160,
  128); cost falls as ``rho^2``, parameters do not change. It is a property of the input, not of
  the model: :func:`input_size` gives the side for a ``rho``.

timm's ``mobilenetv1_100`` uses ReLU6 instead of the paper's ReLU: the option ``activation``.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from lecture21.models.registry import Reference, register

#: (output maps, stride) of the thirteen depthwise separable layers of Table 1.
LAYERS: tuple[tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)

_ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6}


def input_size(rho: float, base: int = 224) -> int:
    """The input side for the resolution multiplier ``rho`` (section 3.4): ``round(rho * 224)``."""
    if not 0.0 < rho <= 1.0:
        raise ValueError(f"rho must be in (0, 1], got {rho!r}")
    return round(rho * base)


def _activation(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {name!r}")
    return _ACTIVATIONS[name](inplace=True)


class DepthwiseSeparableConv(nn.Module):
    """3x3 depthwise conv-BN-ReLU, then 1x1 pointwise conv-BN-ReLU (the paper's Figure 3)."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, activation: str = "relu"
    ) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(
            in_channels, in_channels, 3, stride, 1, groups=in_channels, bias=False
        )
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.act1 = _activation(activation)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.act2 = _activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act1(self.bn1(self.depthwise(x)))
        return self.act2(self.bn2(self.pointwise(x)))


def scaled(channels: int, alpha: float, divisor: int = 8) -> int:
    """``alpha * channels`` rounded to a multiple of ``divisor`` (never down by more than 10 %),
    the rounding of TensorFlow's and timm's MobileNets; exact for alpha = 1, 0.75, 0.5, 0.25."""
    value = max(divisor, int(channels * alpha + divisor / 2) // divisor * divisor)
    return value + divisor if value < 0.9 * channels * alpha else value


class MobileNetV1(nn.Module):
    """Conv 3x3/``stem_stride``, the thirteen ``DepthwiseSeparableConv`` layers, global average
    pooling, dropout (0 in the paper's ImageNet model) and one linear layer."""

    def __init__(
        self,
        num_classes: int = 1000,
        width: float = 1.0,
        activation: str = "relu",
        stem_stride: int = 2,
        strides: tuple[int, ...] | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not width > 0:
            raise ValueError(f"width (alpha) must be positive, got {width!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        strides = strides or tuple(s for _, s in LAYERS)
        if len(strides) != len(LAYERS):
            raise ValueError(f"strides must give {len(LAYERS)} strides, got {strides!r}")
        channels = scaled(32, width)
        self.stem = nn.Sequential(
            OrderedDict(
                conv=nn.Conv2d(3, channels, 3, stem_stride, 1, bias=False),
                bn=nn.BatchNorm2d(channels),
                act=_activation(activation),
            )
        )
        layers = OrderedDict()
        for i, ((out, _), stride) in enumerate(zip(LAYERS, strides), start=1):
            out = scaled(out, width)
            layers[f"dw{i}"] = DepthwiseSeparableConv(channels, out, stride, activation)
            channels = out
        self.layers = nn.Sequential(layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.layers(self.stem(x)))
        return self.fc(self.dropout(torch.flatten(x, 1)))


#: The cifar variant: stride 1 in the stem and in the first stride-2 layer (32 -> 16 -> 8 -> 4).
CIFAR_STRIDES = (1, 1, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1)


def options_from_timm(reference: nn.Module) -> dict:
    """Our options for timm's ``mobilenetv1_100``, read from the instance: its activation
    (ReLU6 there) and its dropout before the classifier."""
    act = next(m for m in reference.modules() if isinstance(m, nn.ReLU | nn.ReLU6))
    return {"activation": "relu6" if isinstance(act, nn.ReLU6) else "relu",
            "dropout": float(getattr(reference, "drop_rate", 0.0))}


@register("mobilenet_v1", variants=("cifar", "imagenet"), references=(
    Reference("timm", "mobilenetv1_100", "mobilenetv1_100.ra4_e3600_r224_in1k",
              options=options_from_timm),
))
def mobilenet_v1(
    variant: str = "cifar",
    num_classes: int = 10,
    width: float | None = None,
    activation: str = "relu",
    dropout: float = 0.0,
) -> MobileNetV1:
    """MobileNet v1 with width multiplier ``width`` (alpha; 1.0 on ImageNet, 0.5 for CIFAR).

    ``imagenet``: Table 1, 4.2 M parameters and 569 M multiply-adds at 224x224 (Table 8).
    ``cifar``: the 3x3 stem and the first downsampling layer keep stride 1, alpha = 0.5.
    """
    if width is None:
        width = 1.0 if variant == "imagenet" else 0.5
    if variant == "imagenet":
        return MobileNetV1(num_classes, width, activation, dropout=dropout)
    return MobileNetV1(
        num_classes, width, activation, stem_stride=1, strides=CIFAR_STRIDES,
        dropout=dropout,
    )
