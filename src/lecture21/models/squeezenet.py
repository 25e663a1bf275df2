"""SqueezeNet (Iandola et al. 2016, "SqueezeNet: AlexNet-level accuracy with 50x fewer
parameters and <0.5MB model size").

Slide "SqueezeNet". The building block is the Fire module (the paper's Figure 1): a *squeeze*
layer of ``s1x1`` 1x1 convolutions feeds an *expand* layer of ``e1x1`` 1x1 and ``e3x3`` 3x3
convolutions whose outputs are concatenated (``s1x1 < e1x1 + e3x3``, so the 3x3 filters see few
input maps). There is no 3x1/1x3 split here: that is SqueezeNext's. The network ends without
any fully connected layer: ``conv10`` (1x1, one map per class), ReLU and global average pooling.

* ``squeezenet1_0``: the paper's Table 1 (conv1 96 7x7/2, fire2-fire9, max pooling after conv1,
  fire4, fire8);
* ``squeezenet1_1``: the authors' v1.1 (SqueezeNet repository): conv1 64 3x3/2 and the poolings
  moved earlier (after conv1, fire3, fire5), 2.4x less computation at the same accuracy.

Max pooling rounds the map size up (``ceil_mode``), as Caffe did. Module names follow the
paper's Table 1 (``conv1``, ``fire2`` ... ``fire9``, ``conv10``).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from lecture21.models.registry import Reference, register

#: (squeeze 1x1, expand 1x1, expand 3x3) of fire2 ... fire9 (Table 1; the same in v1.1).
FIRES: tuple[tuple[int, int, int], ...] = (
    (16, 64, 64), (16, 64, 64), (32, 128, 128), (32, 128, 128),
    (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256),
)
#: version -> (conv1 maps, conv1 kernel, the fire modules after which a max pooling follows).
VERSIONS = {"1_0": (96, 7, (4, 8)), "1_1": (64, 3, (3, 5))}


class FireModule(nn.Module):
    """Squeeze 1x1 (``squeeze`` maps), ReLU, then expand 1x1 and 3x3 in parallel, ReLU each,
    concatenated: ``expand1x1 + expand3x3`` output maps."""

    def __init__(self, in_channels: int, squeeze: int, expand1x1: int, expand3x3: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(in_channels, squeeze, 1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, 1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, 3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)
        self.out_channels = expand1x1 + expand3x3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat(
            [
                self.expand1x1_activation(self.expand1x1(x)),
                self.expand3x3_activation(self.expand3x3(x)),
            ],
            1,
        )


class SqueezeNet(nn.Module):
    """conv1, max pooling, eight Fire modules with two more poolings, dropout, ``conv10``
    (1x1, ``num_classes`` maps), ReLU, global average pooling: no fully connected layer.

    ``stem_stride=1`` and ``stem_pool=False`` give the 32x32 (cifar) version; ``width``
    scales every Fire module's maps.
    """

    def __init__(
        self,
        version: str = "1_0",
        num_classes: int = 1000,
        width: float = 1.0,
        stem_stride: int = 2,
        stem_pool: bool = True,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if version not in VERSIONS:
            raise ValueError(f"version must be one of {sorted(VERSIONS)}, got {version!r}")
        if not width > 0:
            raise ValueError(f"width must be positive, got {width!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        conv1, kernel, pools_after = VERSIONS[version]
        conv1 = max(8, round(conv1 * width))
        pad = 0 if stem_stride == 2 else kernel // 2
        layers = OrderedDict(
            conv1=nn.Conv2d(3, conv1, kernel, stem_stride, pad),
            relu1=nn.ReLU(inplace=True),
        )
        if stem_pool:
            layers["maxpool1"] = nn.MaxPool2d(3, 2, ceil_mode=True)
        channels = conv1
        for i, spec in enumerate(FIRES, start=2):
            squeeze, e1, e3 = (max(4, round(c * width)) for c in spec)
            fire = FireModule(channels, squeeze, e1, e3)
            layers[f"fire{i}"] = fire
            channels = fire.out_channels
            if i in pools_after:
                layers[f"maxpool{i}"] = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.features = nn.Sequential(layers)
        self.classifier = nn.Sequential(
            OrderedDict(
                dropout=nn.Dropout(dropout),
                conv10=nn.Conv2d(channels, num_classes, 1),
                relu10=nn.ReLU(inplace=True),
                pool10=nn.AdaptiveAvgPool2d(1),
            )
        )
        for m in self.modules():  # torchvision's initialisation (the Caffe model's)
            if isinstance(m, nn.Conv2d):
                if m is self.classifier.conv10:
                    nn.init.normal_(m.weight, 0.0, 0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


def options_from_torchvision(reference: nn.Module) -> dict:
    """Our options for torchvision's SqueezeNet, read from the instance: its dropout. Its module
    names (``features.3``) are not the paper's (``fire2``): the layers pair in order."""
    return {"dropout": next(m.p for m in reference.classifier if isinstance(m, nn.Dropout))}


def _squeezenet(version: str, variant: str, num_classes: int, width, dropout) -> SqueezeNet:
    if width is None:
        width = 1.0 if variant == "imagenet" else 0.5
    if variant == "imagenet":
        return SqueezeNet(version, num_classes, width, dropout=dropout)
    return SqueezeNet(
        version, num_classes, width, stem_stride=1, stem_pool=False, dropout=dropout
    )


@register("squeezenet1_0", variants=("cifar", "imagenet"), references=(
    Reference("torchvision", "squeezenet1_0", "SqueezeNet1_0_Weights.IMAGENET1K_V1",
              options=options_from_torchvision),
))
def squeezenet1_0(
    variant: str = "cifar", num_classes: int = 10, width: float | None = None,
    dropout: float = 0.5,
) -> SqueezeNet:
    """SqueezeNet 1.0 (Table 1: 1.25 M parameters on ImageNet). ``cifar``: conv1 with stride 1
    and no pooling after it, every width halved (``width=0.5``)."""
    return _squeezenet("1_0", variant, num_classes, width, dropout)


@register("squeezenet1_1", variants=("cifar", "imagenet"), references=(
    Reference("torchvision", "squeezenet1_1", "SqueezeNet1_1_Weights.IMAGENET1K_V1",
              options=options_from_torchvision),
))
def squeezenet1_1(
    variant: str = "cifar", num_classes: int = 10, width: float | None = None,
    dropout: float = 0.5,
) -> SqueezeNet:
    """SqueezeNet 1.1 (1.24 M parameters, 2.4x fewer multiply-adds than 1.0)."""
    return _squeezenet("1_1", variant, num_classes, width, dropout)
