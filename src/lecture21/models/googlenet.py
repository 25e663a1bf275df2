"""GoogLeNet (Szegedy et al. 2015, "Going deeper with convolutions"): Inception blocks.

Slides "GoogLeNet", "Inception", "Вспомогательные классификаторы". Table 1 of the paper: a stem
(7x7/2 conv, 3x3/2 max pooling, LRN, 1x1 and 3x3 convs, LRN, 3x3/2 max pooling), nine
``InceptionBlock`` s (3a, 3b, 4a-4e, 5a, 5b) with 3x3/2 max poolings after 3b and 4e, global
average pooling, dropout 0.4 and one linear layer. Each block runs four branches side by side
(1x1; 1x1 reduce then 3x3; 1x1 reduce then 5x5; 3x3 max pooling then 1x1 projection) and
concatenates them; the 1x1 "reduce" convolutions are the bottleneck that keeps it cheap. Two
``InceptionAux`` classifiers on 4a and 4d add 0.3 of their losses during training.

Options for torchvision's ``googlenet`` (its deviations from the paper): ``batch_norm`` (BN with
eps 1e-3 after every convolution, which then has no bias; no LRN), ``branch3_kernel=3`` (a 3x3
where the paper has 5x5), ``ceil_mode`` poolings, ``last_pool_kernel=2`` (2x2 instead of 3x3
before 5a), ``transform_input`` (re-normalises ImageNet-normalised input to [-1, 1]),
``dropout=0.2``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from lecture21.models.registry import Reference, register

#: Table 1: (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj) of every Inception block.
INCEPTION = OrderedDict(
    inception3a=(64, 96, 128, 16, 32, 32),
    inception3b=(128, 128, 192, 32, 96, 64),
    inception4a=(192, 96, 208, 16, 48, 64),
    inception4b=(160, 112, 224, 24, 64, 64),
    inception4c=(128, 128, 256, 24, 64, 64),
    inception4d=(112, 144, 288, 32, 64, 64),
    inception4e=(256, 160, 320, 32, 128, 128),
    inception5a=(256, 160, 320, 32, 128, 128),
    inception5b=(384, 192, 384, 48, 128, 128),
)


class ConvReLU(nn.Sequential):
    """Convolution and ReLU; with ``batch_norm``, conv (no bias), BN (eps 1e-3), ReLU."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int, stride: int = 1,
        padding: int = 0, batch_norm: bool = False,
    ) -> None:
        layers = OrderedDict(
            conv=nn.Conv2d(in_channels, out_channels, kernel, stride, padding, bias=not batch_norm)
        )
        if batch_norm:
            layers["bn"] = nn.BatchNorm2d(out_channels, eps=0.001)
        layers["relu"] = nn.ReLU(inplace=True)
        super().__init__(layers)


class InceptionBlock(nn.Module):
    """Four parallel branches concatenated along the channels (figure 2b of the paper)."""

    def __init__(
        self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
        ch5x5: int, pool_proj: int, batch_norm: bool = False, branch3_kernel: int = 5,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        bn = {"batch_norm": batch_norm}
        self.branch1 = ConvReLU(in_channels, ch1x1, 1, **bn)
        self.branch2 = nn.Sequential(
            ConvReLU(in_channels, ch3x3red, 1, **bn), ConvReLU(ch3x3red, ch3x3, 3, padding=1, **bn)
        )
        self.branch3 = nn.Sequential(
            ConvReLU(in_channels, ch5x5red, 1, **bn),
            ConvReLU(ch5x5red, ch5x5, branch3_kernel, padding=branch3_kernel // 2, **bn),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=ceil_mode),
            ConvReLU(in_channels, pool_proj, 1, **bn),
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([branch(x) for branch in branches], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier (section 5): 5x5/3 average pooling (to 4x4 on 14x14 maps), 1x1 conv
    128, FC 1024, dropout 0.7, linear. Used only while training."""

    def __init__(
        self, in_channels: int, num_classes: int, batch_norm: bool = False,
        dropout: float = 0.7, adaptive_pool: bool = False,
    ) -> None:
        super().__init__()
        self.adaptive_pool = adaptive_pool
        self.conv = ConvReLU(in_channels, 128, 1, batch_norm=batch_norm)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.adaptive_pool or x.shape[-1] < 14:
            x = F.adaptive_avg_pool2d(x, 4)
        else:
            x = F.avg_pool2d(x, 5, stride=3)
        x = torch.flatten(self.conv(x), 1)
        return self.fc2(self.dropout(F.relu(self.fc1(x))))


class GoogLeNetOutputs(NamedTuple):
    """What the network returns while training with auxiliary classifiers."""

    logits: torch.Tensor
    aux2: torch.Tensor
    aux1: torch.Tensor


def googlenet_loss(
    outputs: torch.Tensor | GoogLeNetOutputs, targets: torch.Tensor, aux_weight: float = 0.3
) -> torch.Tensor:
    """Cross-entropy of the main output plus ``aux_weight`` (0.3 in the paper) times each
    auxiliary classifier's."""
    if isinstance(outputs, torch.Tensor):
        return F.cross_entropy(outputs, targets)
    main = F.cross_entropy(outputs.logits, targets)
    aux = F.cross_entropy(outputs.aux1, targets) + F.cross_entropy(outputs.aux2, targets)
    return main + aux_weight * aux


class GoogLeNet(nn.Module):
    """The network of Table 1; attributes named like the table's rows."""

    def __init__(
        self,
        num_classes: int = 1000,
        aux_logits: bool = True,
        batch_norm: bool = False,
        lrn: bool = True,
        branch3_kernel: int = 5,
        ceil_mode: bool = False,
        last_pool_kernel: int = 3,
        transform_input: bool = False,
        dropout: float = 0.4,
        aux_dropout: float = 0.7,
        aux_adaptive_pool: bool = False,
        stem: str = "imagenet",
        width: float = 1.0,
    ) -> None:
        super().__init__()
        if stem not in {"imagenet", "cifar"}:
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
        if branch3_kernel not in {3, 5}:
            raise ValueError(f"branch3_kernel must be 3 or 5, got {branch3_kernel!r}")
        if not width > 0:
            raise ValueError(f"width must be positive, got {width!r}")
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        bn = {"batch_norm": batch_norm}
        pool = {"ceil_mode": ceil_mode}
        # LRN with Caffe's parameters (the paper's implementation)
        norm = (lambda: nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0)) if lrn else nn.Identity

        def w(channels: int) -> int:
            return max(4, round(channels * width))

        if stem == "imagenet":  # 224 -> 112 -> 56 -> 56 -> 28
            self.conv1 = ConvReLU(3, w(64), 7, stride=2, padding=3, **bn)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, padding=0 if ceil_mode else 1, **pool)
        else:  # 32x32: one 3x3 convolution; only maxpool2 downsamples before the blocks (32 -> 16)
            self.conv1 = ConvReLU(3, w(64), 3, padding=1, **bn)
            self.maxpool1 = nn.Identity()
        self.lrn1 = norm()
        self.conv2 = ConvReLU(w(64), w(64), 1, **bn)
        self.conv3 = ConvReLU(w(64), w(192), 3, padding=1, **bn)
        self.lrn2 = norm()
        self.maxpool2 = nn.MaxPool2d(3, stride=2, padding=0 if ceil_mode else 1, **pool)
        channels = w(192)
        for name, widths in INCEPTION.items():
            block = InceptionBlock(
                channels, *(w(c) for c in widths), branch3_kernel=branch3_kernel, **bn, **pool
            )
            setattr(self, name, block)
            channels = block.out_channels
            if name == "inception3b":
                self.maxpool3 = nn.MaxPool2d(3, stride=2, padding=0 if ceil_mode else 1, **pool)
            elif name == "inception4e":
                k = last_pool_kernel
                padding = 0 if ceil_mode else k // 2
                self.maxpool4 = nn.MaxPool2d(k, stride=2, padding=padding, **pool)
        if aux_logits:
            self.aux1 = InceptionAux(
                self.inception4a.out_channels, num_classes, batch_norm, aux_dropout,
                aux_adaptive_pool,
            )
            self.aux2 = InceptionAux(
                self.inception4d.out_channels, num_classes, batch_norm, aux_dropout,
                aux_adaptive_pool,
            )
        else:
            self.aux1 = self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # "avg pool 7x7" on the 7x7 map: global
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)

    def _transform_input(self, x: torch.Tensor) -> torch.Tensor:
        # From ImageNet mean/std normalisation to (x - 0.5) / 0.5, what the weights expect.
        mean = torch.tensor((0.485, 0.456, 0.406), device=x.device, dtype=x.dtype)
        std = torch.tensor((0.229, 0.224, 0.225), device=x.device, dtype=x.dtype)
        return x * (std / 0.5).view(1, 3, 1, 1) + ((mean - 0.5) / 0.5).view(1, 3, 1, 1)

    def forward_features(self, x: torch.Tensor):
        """The last feature map (1024 channels) and the auxiliary outputs (None in eval)."""
        if self.transform_input:
            x = self._transform_input(x)
        x = self.lrn1(self.maxpool1(self.conv1(x)))
        x = self.maxpool2(self.lrn2(self.conv3(self.conv2(x))))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        return x, aux1, aux2

    def forward(self, x: torch.Tensor) -> torch.Tensor | GoogLeNetOutputs:
        features, aux1, aux2 = self.forward_features(x)
        logits = self.fc(self.dropout(torch.flatten(self.avgpool(features), 1)))
        if aux1 is not None:
            return GoogLeNetOutputs(logits, aux2, aux1)
        return logits


def options_from_torchvision(reference: nn.Module) -> dict:
    """Our options for a torchvision ``GoogLeNet`` instance, read from its modules."""
    import torchvision

    if not isinstance(reference, torchvision.models.GoogLeNet):
        raise ValueError(f"reference for 'googlenet' must be torchvision's GoogLeNet, got "
                         f"{type(reference).__name__}")
    return {
        "aux_logits": reference.aux1 is not None,
        "batch_norm": any(isinstance(m, nn.BatchNorm2d) for m in reference.modules()),
        "lrn": any(isinstance(m, nn.LocalResponseNorm) for m in reference.modules()),
        "branch3_kernel": reference.inception3a.branch3[1].conv.kernel_size[0],
        "ceil_mode": bool(reference.maxpool1.ceil_mode),
        "last_pool_kernel": reference.maxpool4.kernel_size,
        "transform_input": bool(reference.transform_input),
        "dropout": reference.dropout.p,
        # torchvision's InceptionAux pools with F.adaptive_avg_pool2d(x, (4, 4)) in forward
        "aux_adaptive_pool": True,
    }


# The official weights were trained on [-1, 1] inputs (transform_input) and hold the auxiliary
# classifiers: torchvision builds the reference so when it loads them.
_TORCHVISION_BUILD = {"transform_input": True, "aux_logits": True, "init_weights": False}


@register("googlenet", variants=("cifar", "imagenet"), references=(
    Reference("torchvision", "googlenet", "GoogLeNet_Weights.IMAGENET1K_V1",
              options=options_from_torchvision, build=_TORCHVISION_BUILD),
))
def googlenet(
    variant: str = "cifar",
    num_classes: int = 10,
    aux_logits: bool | None = None,
    batch_norm: bool | None = None,
    lrn: bool | None = None,
    branch3_kernel: int = 5,
    ceil_mode: bool = False,
    last_pool_kernel: int = 3,
    transform_input: bool = False,
    dropout: float | None = None,
    aux_adaptive_pool: bool = False,
    width: float | None = None,
) -> GoogLeNet:
    """GoogLeNet; ``imagenet`` = Table 1 with LRN and auxiliary classifiers.

    The cifar variant replaces the stem's 7x7/2 convolution and first 3x3/2 pooling by one 3x3
    convolution and keeps its second pooling: where the paper's stem takes 224 to 28 before
    block 3a (an 8x reduction: 112, 56, 28), this one takes 32 to 16 (2x), so the blocks see
    16x16, 8x8 and 4x4 maps; it uses batch norm instead of
    LRN (trains in few epochs), no auxiliary classifiers (the network is shallow enough for the
    gradient, and the engine trains one output), and half the widths by default.
    """
    cifar = variant == "cifar"
    return GoogLeNet(
        num_classes,
        aux_logits=(not cifar) if aux_logits is None else aux_logits,
        batch_norm=cifar if batch_norm is None else batch_norm,
        lrn=(not cifar) if lrn is None else lrn,
        branch3_kernel=branch3_kernel,
        ceil_mode=ceil_mode,
        last_pool_kernel=last_pool_kernel,
        transform_input=transform_input,
        dropout=(0.2 if cifar else 0.4) if dropout is None else dropout,
        aux_adaptive_pool=aux_adaptive_pool,
        stem="cifar" if cifar else "imagenet",
        width=(0.5 if cifar else 1.0) if width is None else width,
    )
