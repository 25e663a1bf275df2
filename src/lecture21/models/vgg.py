"""VGG (Simonyan, Zisserman 2014): only 3x3 convolutions, depth as the variable.

Slide "VGG". Table 1 of the paper lists configurations A (11 weight layers) to E (19); every
convolution is 3x3 with stride 1 and padding 1, five 2x2/2 max poolings halve the map, the
widths double after each pooling from 64 to 512, and three fully connected layers 4096, 4096,
1000 (dropout 0.5 on the first two) classify. A stack of two 3x3 convolutions sees 5x5, three see
7x7, with fewer parameters and more non-linearities (section 2.3).

Options for the references: ``batch_norm`` (BN after every convolution, torchvision's and timm's
``vgg*_bn``; not in the paper), ``classifier="conv"`` (timm's ``pre_logits.fc1/fc2``: the FC
layers as a 7x7 and a 1x1 convolution followed by global average pooling -- the paper's own
"dense evaluation", section 3.2), ``adaptive_pool`` (torchvision's AdaptiveAvgPool2d((7, 7))).
They are read from a reference instance by :func:`options_from_reference`; ``vgg16_bn`` and the
other ``_bn`` names are the configurations with batch norm, as torchvision and timm name them.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from lecture21.models.registry import Reference, register

#: Table 1 of the paper: output channels of each 3x3 convolution, "M" for a 2x2 max pooling.
CONFIGS: dict[str, tuple[int | str, ...]] = {
    "A": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "B": (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "D": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
          512, 512, 512, "M"),
    "E": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"),
}
#: Registry name -> configuration letter of Table 1.
DEPTHS = {"vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E"}


def make_features(config: tuple[int | str, ...], batch_norm: bool, width: float = 1.0):
    """The convolutional part: 3x3 conv (+BN) + ReLU for a number, 2x2 max pooling for "M"."""
    layers: list[nn.Module] = []
    channels = 3
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        out = max(8, round(int(item) * width))
        layers.append(nn.Conv2d(channels, out, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out))
        layers.append(nn.ReLU(inplace=True))
        channels = out
    return nn.Sequential(*layers), channels


def cascade(layers: int, channels: int, kernel: int = 3, bias: bool = False) -> nn.Sequential:
    """``layers`` convolutions ``kernel`` x ``kernel`` (``channels`` in and out, "same" padding)
    with ReLU between them: the stack of section 2.3 of the paper. Without bias by default, as
    the paper's count ``layers * kernel^2 * channels^2`` has none."""
    if layers < 1 or channels < 1 or kernel < 1 or kernel % 2 == 0:
        raise ValueError(
            f"layers and channels must be positive and kernel odd, got {layers}, {channels}, "
            f"{kernel}"
        )
    modules: list[nn.Module] = []
    for i in range(layers):
        modules.append(nn.Conv2d(channels, channels, kernel, padding=kernel // 2, bias=bias))
        if i < layers - 1:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)


class LinearClassifier(nn.Sequential):
    """The paper's three FC layers on the flattened ``channels x side x side`` map."""

    def __init__(
        self, in_features: int, hidden: int, num_classes: int, dropout: float
    ) -> None:
        super().__init__(
            OrderedDict(
                fc6=nn.Linear(in_features, hidden),
                relu6=nn.ReLU(inplace=True),
                drop6=nn.Dropout(dropout),
                fc7=nn.Linear(hidden, hidden),
                relu7=nn.ReLU(inplace=True),
                drop7=nn.Dropout(dropout),
                fc8=nn.Linear(hidden, num_classes),
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(torch.flatten(x, 1))


class ConvClassifier(nn.Module):
    """The FC layers as convolutions (section 3.2, "dense evaluation"): fc6 is a ``side x side``
    convolution, fc7 a 1x1 one; the class scores are averaged over positions. A map smaller than
    ``side`` is first average-pooled up to ``side`` (what timm's ``ConvMlp`` does)."""

    def __init__(
        self, channels: int, side: int, hidden: int, num_classes: int, dropout: float
    ) -> None:
        super().__init__()
        self.side = side
        self.fc6 = nn.Conv2d(channels, hidden, side)
        self.drop6 = nn.Dropout(dropout)
        self.fc7 = nn.Conv2d(hidden, hidden, 1)
        self.fc8 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2] < self.side or x.shape[-1] < self.side:
            x = F.adaptive_avg_pool2d(x, (max(self.side, x.shape[-2]), max(self.side, x.shape[-1])))
        x = self.drop6(F.relu(self.fc6(x)))
        x = F.relu(self.fc7(x))
        return self.fc8(x.mean((2, 3)))


class VGG(nn.Module):
    """``features`` (Table 1's column), optional adaptive pooling, then the classifier."""

    def __init__(
        self,
        config: str | tuple[int | str, ...] = "D",
        num_classes: int = 1000,
        batch_norm: bool = False,
        classifier: str = "linear",
        adaptive_pool: bool = False,
        image_size: int = 224,
        hidden: int = 4096,
        dropout: float = 0.5,
        width: float = 1.0,
    ) -> None:
        super().__init__()
        if isinstance(config, str):
            if config not in CONFIGS:
                raise ValueError(f"config must be one of {sorted(CONFIGS)}, got {config!r}")
            config = CONFIGS[config]
        if classifier not in {"linear", "conv"}:
            raise ValueError(f"classifier must be 'linear' or 'conv', got {classifier!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.features, channels = make_features(config, batch_norm, width)
        side = image_size // 2 ** config.count("M")
        if adaptive_pool:
            side = 7
        if side < 1:
            raise ValueError(f"image_size {image_size} is too small for the poolings")
        self.avgpool = nn.AdaptiveAvgPool2d(side) if adaptive_pool else nn.Identity()
        if classifier == "conv":
            self.classifier = ConvClassifier(channels, side, hidden, num_classes, dropout)
        else:
            self.classifier = LinearClassifier(channels * side * side, hidden, num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.avgpool(self.features(x)))


def options_from_reference(reference: nn.Module, name: str) -> dict:
    """Our options for a torchvision or timm VGG instance, read from its modules: batch norm or
    not, FC layers as convolutions (timm's ``pre_logits``) or linear (torchvision), and the
    number of convolutions checked against Table 1's column of ``name``."""
    features = getattr(reference, "features", None)
    if not isinstance(features, nn.Module):
        raise ValueError(f"reference for {name!r} must be a VGG, got {type(reference).__name__}")
    batch_norm = any(isinstance(m, nn.BatchNorm2d) for m in features.modules())
    if name.endswith("_bn") != batch_norm:
        has = "has" if batch_norm else "has no"
        raise ValueError(f"name {name!r} does not match the reference: it {has} batch norm")
    convs = sum(isinstance(m, nn.Conv2d) for m in features.modules())
    expected = sum(isinstance(c, int) for c in CONFIGS[DEPTHS[name.removesuffix("_bn")]])
    if convs != expected:
        raise ValueError(f"reference has {convs} convolutions, {name} has {expected}")
    timm_style = hasattr(reference, "pre_logits")  # timm: FC layers as convolutions
    return {"batch_norm": batch_norm, "classifier": "conv" if timm_style else "linear",
            "adaptive_pool": not timm_style}


def _references(name: str) -> tuple[Reference, ...]:
    options = partial(options_from_reference, name=name)
    enum = f"VGG{name[3:5]}{'_BN' if name.endswith('_bn') else ''}_Weights.IMAGENET1K_V1"
    return (
        Reference("timm", name, f"{name}.tv_in1k", options=options),
        Reference("torchvision", name, enum, options=options),
    )


def _builder(name: str):
    letter = DEPTHS[name.removesuffix("_bn")]
    batch_norm_default = name.endswith("_bn")

    def build(
        variant: str = "cifar",
        num_classes: int = 10,
        batch_norm: bool | None = None,
        classifier: str = "linear",
        adaptive_pool: bool = False,
        width: float | None = None,
        hidden: int | None = None,
        dropout: float = 0.5,
    ) -> VGG:
        if variant == "imagenet":
            return VGG(
                letter, num_classes, batch_norm_default if batch_norm is None else batch_norm,
                classifier, adaptive_pool, 224, hidden or 4096, dropout, width or 1.0,
            )
        # 32x32: five poolings leave a 1x1 map, so the classifier is 512 -> 512 -> classes
        # (fc6 on a 1x1 map); BN by default, because VGG trained from scratch at a small budget
        # hardly leaves the start without it (the paper initialised D and E from A).
        return VGG(
            letter, num_classes, True if batch_norm is None else batch_norm, classifier,
            adaptive_pool, 32, hidden or 512, dropout, 0.5 if width is None else width,
        )

    build.__name__ = name
    build.__doc__ = (
        f"VGG configuration {letter} ({name}); the cifar variant has half the widths by default,"
        " batch norm and a 512-wide classifier."
    )
    return build


for _name in DEPTHS:
    register(_name, variants=("cifar", "imagenet"), family="vgg",
             references=_references(_name))(_builder(_name))
    # The configurations with batch norm, under torchvision's and timm's names (ImageNet only:
    # the cifar variant has batch norm anyway).
    register(f"{_name}_bn", variants=("imagenet",), family="vgg",
             references=_references(f"{_name}_bn"))(_builder(f"{_name}_bn"))
