"""AlexNet (Krizhevsky, Sutskever, Hinton 2012) and ZFNet (Zeiler, Fergus 2014).

Slides "AlexNet" and "ZFNet". Both are five convolutional layers and three fully connected ones;
they differ only in the numbers of the configuration, so one class is built from a config and
ZFNet is AlexNet with Zeiler and Fergus's numbers.

AlexNet's paper configuration (section 3.5, figure 2): 96 11x11/4, 256 5x5, 384 3x3, 384 3x3,
256 3x3 convolutions; ReLU; local response normalisation after conv1 and conv2; 3x3/2
overlapping max pooling after conv1, conv2, conv5; fully connected 4096, 4096, 1000 with dropout
0.5. The network was split over two GPUs: conv2, conv4 and conv5 see only the kernels of their
own GPU, which is a grouped convolution with ``groups=2``; conv3 and the FC layers see both.

torchvision's ``alexnet`` is the "one weird trick" variant (Krizhevsky 2014): 64-192-384-256-256
kernels, no LRN, no groups, and an adaptive average pooling to 6x6 before the classifier. These
are options here (``widths``, ``lrn``, ``groups``, ``adaptive_pool``), read from a torchvision
instance by :func:`options_from_torchvision`; its official weights load into our class through
``lecture21.pretrained.load("alexnet")``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

import torch
from torch import nn

from lecture21.models.init import initialise
from lecture21.models.registry import Reference, register


@dataclass(frozen=True)
class ConvSpec:
    """One convolutional layer: its convolution, and whether LRN and max pooling follow it."""

    out_channels: int
    kernel: int
    stride: int = 1
    padding: int = 0
    groups: int = 1
    lrn: bool = False
    pool: tuple[int, int, int] | None = None  # (kernel, stride, padding) of the max pooling
    ceil_mode: bool = False  # the pooling rounds the map size up (Caffe's convention)


@dataclass(frozen=True)
class AlexNetConfig:
    """The whole network: convolutional layers, then the classifier."""

    convs: tuple[ConvSpec, ...]
    hidden: int = 4096
    dropout: float = 0.5
    image_size: int = 224
    adaptive_pool: int | None = None  # torchvision's AdaptiveAvgPool2d((6, 6))
    lrn_alpha: float = 1e-4  # the paper's LRN alpha (pytorchcv's ZFNet: 2e-5, see zfnet())


def paper_alexnet() -> AlexNetConfig:
    """AlexNet as in the paper (224x224 inputs; padding 2 in conv1 gives its 55x55 maps)."""
    return AlexNetConfig(
        (
            ConvSpec(96, 11, 4, 2, lrn=True, pool=(3, 2, 0)),
            ConvSpec(256, 5, 1, 2, groups=2, lrn=True, pool=(3, 2, 0)),
            ConvSpec(384, 3, 1, 1),
            ConvSpec(384, 3, 1, 1, groups=2),
            ConvSpec(256, 3, 1, 1, groups=2, pool=(3, 2, 0)),
        )
    )


def paper_zfnet() -> AlexNetConfig:
    """ZFNet (Zeiler & Fergus 2014, figure 3): conv1 7x7/2 instead of 11x11/4, conv2 stride 2,
    one GPU (no groups); maps 110 -> 55 -> 26 -> 13 -> 13 -> 13 -> 6 as in the figure."""
    return AlexNetConfig(
        (
            ConvSpec(96, 7, 2, 1, lrn=True, pool=(3, 2, 1)),
            ConvSpec(256, 5, 2, 0, lrn=True, pool=(3, 2, 1)),
            ConvSpec(384, 3, 1, 1),
            ConvSpec(384, 3, 1, 1),
            ConvSpec(256, 3, 1, 1, pool=(3, 2, 0)),
        )
    )


def cifar_config(
    paper: AlexNetConfig, width: float = 0.5, hidden: int = 512, first_kernel: int = 5
) -> AlexNetConfig:
    """The 32x32 version of a paper configuration.

    conv1 is ``first_kernel`` x ``first_kernel`` with stride 1 instead of the large strided
    kernel (a 32x32 image has no pixels to spare; AlexNet 5x5, ZFNet, which made the first
    filters smaller, 3x3), conv2 is 5x5 with stride 1, every width is times ``width`` and the
    classifier is smaller, so that it trains on a CPU. LRN, groups and the three overlapping
    poolings (32 -> 15 -> 7 -> 3) are kept.
    """
    first, *rest = paper.convs
    convs = [replace(first, kernel=first_kernel, stride=1, padding=first_kernel // 2,
                     pool=(3, 2, 0))]
    convs.append(replace(rest[0], kernel=5, stride=1, padding=2, pool=(3, 2, 0)))
    convs.extend(rest[1:])
    convs = [replace(c, out_channels=_scaled(c.out_channels, width, c.groups)) for c in convs]
    return replace(paper, convs=tuple(convs), hidden=hidden, image_size=32)


def _scaled(channels: int, width: float, groups: int = 1) -> int:
    """``channels * width`` rounded to a multiple of 2 groups (grouped layers must divide)."""
    step = 2 * groups
    return max(step, round(channels * width / step) * step)


def local_response_norm(
    x: torch.Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> torch.Tensor:
    """``torch.nn.functional.local_response_norm`` for (N, C, H, W) maps, computed as a sum of
    ``size`` shifted slices of the zero-padded squares: the same numbers (to float rounding),
    about twice as fast on a CPU as torch's average pooling over a 5-D view (forward and
    backward, measured on AlexNet's CIFAR maps). ``alpha`` is divided by ``size``, as torch does.
    """
    if x.dim() != 4:
        raise ValueError(f"x must be a 4-D (N, C, H, W) tensor, got shape {tuple(x.shape)}")
    channels = x.shape[1]
    # torch pads size // 2 channels before and (size - 1) // 2 after each window
    squares = nn.functional.pad(x.square(), (0, 0, 0, 0, size // 2, (size - 1) // 2))
    window = squares[:, :channels]
    for shift in range(1, size):
        window = window + squares[:, shift:shift + channels]
    return x / (k + alpha / size * window).pow(beta)


class LocalResponseNorm(nn.LocalResponseNorm):
    """LRN with the paper's formula: ``b = a / (k + alpha * sum_{n neighbours} a^2) ** beta``.

    torch divides ``alpha`` by ``size``; the paper (k=2, n=5, alpha=1e-4, beta=0.75) does not,
    so ``alpha * size`` is handed to torch. The forward pass is :func:`local_response_norm`.
    """

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0):
        super().__init__(size, alpha * size, beta, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return local_response_norm(x, self.size, self.alpha, self.beta, self.k)


class ConvLayer(nn.Sequential):
    """Convolution, ReLU, then (optionally) local response normalisation and max pooling."""

    def __init__(self, in_channels: int, spec: ConvSpec, lrn_alpha: float = 1e-4) -> None:
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            conv=nn.Conv2d(
                in_channels, spec.out_channels, spec.kernel, spec.stride, spec.padding,
                groups=spec.groups,
            ),
            relu=nn.ReLU(inplace=True),
        )
        if spec.lrn:
            layers["lrn"] = LocalResponseNorm(alpha=lrn_alpha)
        if spec.pool is not None:
            layers["pool"] = nn.MaxPool2d(*spec.pool, ceil_mode=spec.ceil_mode)
        super().__init__(layers)


class AlexNet(nn.Module):
    """Five ``ConvLayer`` s (``features``), then dropout-FC-ReLU twice and the output layer."""

    def __init__(self, config: AlexNetConfig | None = None, num_classes: int = 1000) -> None:
        super().__init__()
        self.config = config = config or paper_alexnet()
        if not 0.0 <= config.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {config.dropout!r}")
        channels = 3
        layers = OrderedDict()
        for i, spec in enumerate(config.convs, start=1):
            if channels % spec.groups or spec.out_channels % spec.groups:
                raise ValueError(f"conv{i}: channels must divide into groups={spec.groups}")
            layers[f"conv{i}"] = ConvLayer(channels, spec, config.lrn_alpha)
            channels = spec.out_channels
        self.features = nn.Sequential(layers)
        if config.adaptive_pool:
            self.avgpool = nn.AdaptiveAvgPool2d(config.adaptive_pool)
            side = config.adaptive_pool
        else:
            self.avgpool = nn.Identity()
            side = self.feature_side(config.image_size)
        self.classifier = nn.Sequential(
            OrderedDict(
                drop6=nn.Dropout(config.dropout),
                fc6=nn.Linear(channels * side * side, config.hidden),
                relu6=nn.ReLU(inplace=True),
                drop7=nn.Dropout(config.dropout),
                fc7=nn.Linear(config.hidden, config.hidden),
                relu7=nn.ReLU(inplace=True),
                fc8=nn.Linear(config.hidden, num_classes),
            )
        )

    def feature_side(self, image_size: int) -> int:
        """Side of the last feature map for a square input, by the convolution arithmetic."""
        side = image_size
        for spec in self.config.convs:
            side = (side + 2 * spec.padding - spec.kernel) // spec.stride + 1
            if spec.pool is not None:
                kernel, stride, padding = spec.pool
                span = side + 2 * padding - kernel
                side = -(-span // stride) + 1 if spec.ceil_mode else span // stride + 1
        if side < 1:
            raise ValueError(f"image_size {image_size} is too small for this network")
        return side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


class ZFNet(AlexNet):
    """AlexNet with Zeiler and Fergus's changes, found by visualising AlexNet's features."""

    def __init__(self, config: AlexNetConfig | None = None, num_classes: int = 1000) -> None:
        super().__init__(config or paper_zfnet(), num_classes)


def _configure(
    paper: AlexNetConfig, variant: str, width: float, widths, groups, lrn, adaptive_pool,
    dropout: float, hidden: int | None, first_kernel: int = 5,
) -> AlexNetConfig:
    if not width > 0:
        raise ValueError(f"width must be positive, got {width!r}")
    if widths is not None and any(
            not isinstance(w, int) or isinstance(w, bool) or w < 1 for w in widths):
        raise ValueError(f"widths must be positive ints, got {widths!r}")
    if hidden is not None and (not isinstance(hidden, int) or isinstance(hidden, bool)
                               or hidden < 1):
        raise ValueError(f"hidden must be a positive int, got {hidden!r}")
    config = paper
    convs = list(config.convs)
    if widths is not None:
        if len(widths) != len(convs):
            raise ValueError(f"widths must give {len(convs)} channel counts, got {widths!r}")
        convs = [replace(c, out_channels=int(w)) for c, w in zip(convs, widths)]
    if groups is not None:
        convs = [replace(c, groups=groups if c.groups > 1 else 1) for c in convs]
    if lrn is not None:
        convs = [replace(c, lrn=lrn and c.lrn) for c in convs]
    config = replace(config, convs=tuple(convs), dropout=dropout, adaptive_pool=adaptive_pool)
    if variant == "cifar":
        config = cifar_config(config, width if widths is None else 1.0, hidden or 512, first_kernel)
    elif hidden is not None:
        config = replace(config, hidden=hidden)
    return config


def options_from_torchvision(reference: nn.Module) -> dict:
    """Our options for torchvision's ``alexnet``, read from the instance: its five widths and
    dropout; no groups, no LRN, adaptive 6x6 average pooling ("one weird trick")."""
    import torchvision

    if not isinstance(reference, torchvision.models.AlexNet):
        raise ValueError(
            f"reference for 'alexnet' must be torchvision's AlexNet, got {type(reference).__name__}"
        )
    widths = tuple(m.out_channels for m in reference.features if isinstance(m, nn.Conv2d))
    groups = {m.groups for m in reference.features if isinstance(m, nn.Conv2d)}
    lrn = any(isinstance(m, nn.LocalResponseNorm) for m in reference.modules())
    dropout = next(m.p for m in reference.classifier if isinstance(m, nn.Dropout))
    side = reference.avgpool.output_size
    return {"widths": widths, "groups": max(groups), "lrn": lrn,
            "adaptive_pool": side if isinstance(side, int) else side[0], "dropout": dropout}


@register("alexnet", variants=("cifar", "imagenet"), references=(
    Reference("torchvision", "alexnet", "AlexNet_Weights.IMAGENET1K_V1",
              options=options_from_torchvision),
))
def alexnet(
    variant: str = "cifar",
    num_classes: int = 10,
    width: float = 0.5,
    widths: tuple[int, ...] | None = None,
    groups: int | None = None,
    lrn: bool | None = None,
    adaptive_pool: int | None = None,
    dropout: float = 0.5,
    hidden: int | None = None,
    init: str = "default",
) -> AlexNet:
    """AlexNet; ``groups=1`` and ``lrn=False`` remove the two-GPU split and LRN;
    ``init="kaiming"``: He et al. (2015) initialisation (``lecture21.models.init``)."""
    config = _configure(
        paper_alexnet(), variant, width, widths, groups, lrn, adaptive_pool, dropout, hidden
    )
    return initialise(AlexNet(config, num_classes), init)


def options_from_pytorchcv(reference: nn.Module) -> dict:
    """Our options for pytorchcv's ``zfnet`` / ``zfnetb``, read from the instance: the five
    widths and the Caffe-style pooling (3x3/2, no padding, rounding up). Its LRN is
    ``F.local_response_norm(x, size=5, k=2.0)`` in the forward code, with torch's default alpha
    1e-4 that torch divides by the size: 2e-5 in the paper's formula."""
    convs = [m for m in reference.features.modules() if isinstance(m, nn.Conv2d)]
    pools = [m for m in reference.features.modules() if isinstance(m, nn.MaxPool2d)]
    return {
        "widths": tuple(c.out_channels for c in convs),
        "ceil_mode": all(p.ceil_mode and p.padding == 0 for p in pools),
        "lrn_alpha": 1e-4 / 5,
    }


@register("zfnet", variants=("cifar", "imagenet"), references=(
    Reference("pytorchcv", "zfnet", options=options_from_pytorchcv),
))
def zfnet(
    variant: str = "cifar",
    num_classes: int = 10,
    width: float = 0.5,
    lrn: bool | None = None,
    dropout: float = 0.5,
    hidden: int | None = None,
    widths: tuple[int, ...] | None = None,
    lrn_alpha: float = 1e-4,
    ceil_mode: bool = False,
    init: str = "default",
) -> ZFNet:
    """ZFNet; the cifar variant is built like AlexNet's (see :func:`cifar_config`);
    ``init="kaiming"``: He et al. (2015) initialisation (``lecture21.models.init``).

    ``widths=(96, 256, 512, 1024, 512)`` is the wider model of the paper's Table 2 (pytorchcv's
    ``zfnetb``). pytorchcv's port of ZFNet pools 3x3/2 without padding, rounding up
    (``ceil_mode=True``: the same 55, 13, 6 maps, other windows), and its LRN uses torch's
    default alpha, which torch divides by the size 5 (``lrn_alpha=2e-5`` in the paper's formula).
    """
    if not lrn_alpha > 0:
        raise ValueError(f"lrn_alpha must be positive, got {lrn_alpha!r}")
    config = _configure(
        paper_zfnet(), variant, width, widths, None, lrn, None, dropout, hidden, first_kernel=3
    )
    convs = config.convs
    if ceil_mode:
        convs = tuple(
            replace(c, pool=(c.pool[0], c.pool[1], 0), ceil_mode=True) if c.pool else c
            for c in convs
        )
    return initialise(ZFNet(replace(config, convs=convs, lrn_alpha=lrn_alpha), num_classes), init)


def describe(model: AlexNet, input_shape: tuple[int, ...] = (1, 3, 224, 224)) -> dict:
    """One column of the slide-style comparison of AlexNet-family networks: the first layer,
    conv2's stride, the groups of every convolution (AlexNet's two GPUs), the sides of the five
    feature maps, parameters and multiply-adds (meta-device friendly: nothing runs for real)."""
    from lecture21 import measure

    if not isinstance(model, AlexNet):
        raise ValueError(f"model must be an AlexNet or ZFNet, got {type(model).__name__}")
    convs = [layer.conv for layer in model.features]
    names = [f"features.conv{i}.conv" for i in range(1, len(convs) + 1)]
    sides = [shape[1] for shape in measure.layer_shapes(model, input_shape, names)]
    first = convs[0]
    return {
        "conv1": f"{first.out_channels}×{first.kernel_size[0]}×{first.kernel_size[0]}"
                 f", шаг {first.stride[0]}",
        "conv2 шаг": convs[1].stride[0],
        "группы (2 GPU)": [c.groups for c in convs],
        "размер карт conv1..5": sides,
        "параметры, млн": round(measure.count_parameters(model) / 1e6, 2),
        "MAC, млн": round(measure.macs(model, input_shape) / 1e6),
    }
