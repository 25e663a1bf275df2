"""ResNet (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016).

Slide "ResNet": a stack of residual blocks, each computing ``relu(F(x) + shortcut(x))``.

* :class:`BasicBlock` (ResNet-18/34, figure 5 left of the paper): ``F`` is two 3x3 conv-BN
  layers;
* :class:`Bottleneck` (ResNet-50/101/152, figure 5 right): 1x1 reduce, 3x3, 1x1 expand (x4).
  The paper downsamples with the stride of the first 1x1; torchvision and timm put it on the
  3x3 ("ResNet v1.5", a little more accurate): ``stride_on_3x3`` picks (default: v1.5, so that
  torchvision's and timm's weights mean what they meant). With ``groups`` and ``base_width``
  the 3x3 becomes the grouped convolution of ResNeXt (see ``resnext.py``).

Shortcuts (section 3.3 of the paper): ``"B"`` a strided 1x1 conv-BN projection where the shape
changes (the ImageNet networks), ``"A"`` a parameter-free subsampled identity padded with zero
channels (the CIFAR networks, ``resnet_cifar.py``), ``"none"`` no shortcut at all (the plain
networks of figure 3 and table 6).

Every block is a :class:`ResidualBlock`: its ``survival`` probability enables stochastic depth
(``stochastic_depth.py``). Module names equal torchvision's (``conv1``, ``bn1``, ``layer1.0.
conv1``, ``downsample.0``, ``fc``), so torchvision's and timm's weights load by name
(``lecture21.pretrained.load("resnet50")``; the tests fill ours from randomly initialised
references and compare outputs). Variants of the registered networks:

* ``"imagenet"``: the paper's network for 224x224 inputs: 7x7 stride-2 stem and 3x3 max-pool;
* ``"cifar"`` (ResNet-18 only): the usual CIFAR-10 adaptation (as in kuangliu/pytorch-cifar):
  a 3x3 stride-1 stem and no max-pool, so the four stages see 32, 16, 8 and 4 pixel maps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from lecture21.models.registry import Reference, register

#: Blocks per stage of table 1 of the paper.
DEPTHS: dict[str, tuple[str, tuple[int, ...]]] = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
    "resnet101": ("bottleneck", (3, 4, 23, 3)),
    "resnet152": ("bottleneck", (3, 8, 36, 3)),
}
SHORTCUTS = ("A", "B", "none")


class ZeroPadShortcut(nn.Module):
    """Option A of the paper: the identity, subsampled by ``stride`` and padded with zero
    channels up to ``out_channels`` (no parameters). As in the authors' CIFAR code and
    akamaster/pytorch_resnet_cifar10: ``x[:, :, ::2, ::2]``, the new channels split evenly
    before and after the old ones."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(
                f"out_channels must be >= in_channels for a zero-padded shortcut, got "
                f"{in_channels} -> {out_channels}"
            )
        self.stride = stride
        self.pad = out_channels - in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        before = self.pad // 2
        return nn.functional.pad(x, (0, 0, 0, 0, before, self.pad - before))


def make_shortcut(
    kind: str, in_channels: int, out_channels: int, stride: int
) -> nn.Module | None:
    """The shortcut of a block whose input and output shapes differ (``None`` if they don't,
    the identity). ``kind`` is ``"A"``, ``"B"`` or ``"none"`` (see the module docstring)."""
    if kind not in SHORTCUTS:
        raise ValueError(f"shortcut must be one of {SHORTCUTS}, got {kind!r}")
    if kind == "none" or (stride == 1 and in_channels == out_channels):
        return None
    if kind == "A":
        return ZeroPadShortcut(in_channels, out_channels, stride)
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class ResidualBlock(nn.Module):
    """``relu(F(x) + shortcut(x))``, with stochastic depth (Huang et al. 2016, "Deep Networks
    with Stochastic Depth", eq. 2 and 5).

    ``survival`` is the block's probability ``p`` to be kept while training. A dropped block
    (drawn once per mini-batch) returns ``relu(shortcut(x))`` without computing ``F``: no
    compute and no gradient for its weights. At test time every block runs and its branch is
    scaled by ``p``: ``relu(p * F(x) + shortcut(x))``, the expectation of the training-time
    block (section 3 of the paper). ``residual=False`` makes the plain counterpart ``relu(F(x))``.
    Subclasses define :meth:`branch` (``F``) and set ``downsample`` (the shortcut, ``None`` for
    the identity).
    """

    downsample: nn.Module | None

    def __init__(self, residual: bool = True) -> None:
        super().__init__()
        self.residual = residual
        self.survival = 1.0

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.downsample is None else self.downsample(x)

    def branch_modules(self) -> list[nn.Module]:
        """The modules of ``F`` in the order they are defined (everything but the shortcut)."""
        return [m for name, m in self.named_children() if name != "downsample"]

    def dropped(self) -> bool:
        """Draw whether the branch is skipped in this training step (``False`` in eval mode)."""
        if not self.training or self.survival >= 1.0:
            return False
        return bool(torch.rand(()) >= self.survival)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.residual:
            return self.relu(self.branch(x))
        if self.dropped():  # not in place: x may be saved for a previous layer's backward
            return torch.relu(self.shortcut(x))
        out = self.branch(x)
        if not self.training and self.survival < 1.0:
            out = out * self.survival
        return self.relu(out + self.shortcut(x))


class BasicBlock(ResidualBlock):
    """Two 3x3 conv-BN layers (figure 5 left of the paper): ``relu(x + F(x))``."""

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        shortcut: str = "B",
        groups: int = 1,
        base_width: float = 64,
        stride_on_3x3: bool = True,
    ) -> None:
        super().__init__(residual=shortcut != "none")
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock has groups=1 and base_width=64 only (ResNeXt: Bottleneck)")
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = make_shortcut(shortcut, in_channels, channels, stride)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out))


class Bottleneck(ResidualBlock):
    """1x1 (reduce) - 3x3 - 1x1 (expand to ``4 * channels``), each with BN (figure 5 right).

    ``stride_on_3x3=False`` is the paper's placement of the downsampling stride (on the first
    1x1); ``True`` is torchvision's and timm's "v1.5". The 3x3 has
    ``round(channels * base_width / 64) * groups`` channels in ``groups`` groups (ResNeXt's
    template (c) of figure 3; ``groups=1, base_width=64`` is ResNet's bottleneck).
    """

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        shortcut: str = "B",
        groups: int = 1,
        base_width: float = 64,
        stride_on_3x3: bool = True,
    ) -> None:
        super().__init__(residual=shortcut != "none")
        width = round(channels * base_width / 64) * groups  # torchvision: int(), same here
        out = channels * self.expansion
        first, second = (1, stride) if stride_on_3x3 else (stride, 1)
        self.conv1 = nn.Conv2d(in_channels, width, 1, first, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, second, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = make_shortcut(shortcut, in_channels, out, stride)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))


BLOCKS: dict[str, type[BasicBlock] | type[Bottleneck]] = {
    "basic": BasicBlock,
    "bottleneck": Bottleneck,
}


class ResNet(nn.Module):
    """Stem, stages ``layer1``, ``layer2``, ... of residual blocks, global average pool, ``fc``.

    ``blocks[i]`` blocks of ``planes[i]`` channels (times the block's expansion) in stage i; every
    stage but the first halves the map with the stride of its first block. Stems: ``"imagenet"``
    (7x7/2 conv and 3x3/2 max-pool), ``"cifar"`` (3x3/1 conv, no pool; ``stem_width`` channels).
    """

    def __init__(
        self,
        block: str = "basic",
        blocks: Sequence[int] = (2, 2, 2, 2),
        planes: Sequence[int] = (64, 128, 256, 512),
        num_classes: int = 1000,
        stem: str = "imagenet",
        stem_width: int = 64,
        shortcut: str = "B",
        groups: int = 1,
        base_width: float = 64,
        stride_on_3x3: bool = True,
    ) -> None:
        super().__init__()
        if block not in BLOCKS:
            raise ValueError(f"block must be one of {sorted(BLOCKS)}, got {block!r}")
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
        if len(blocks) != len(planes) or not blocks or min(blocks) < 1:
            raise ValueError(
                f"blocks must be positive counts, one per stage of planes {tuple(planes)}, "
                f"got {tuple(blocks)!r}"
            )
        if min(planes) < 1 or stem_width < 1:
            raise ValueError(f"planes and stem_width must be positive, got {planes}, {stem_width}")
        if shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be one of {SHORTCUTS}, got {shortcut!r}")
        kind = BLOCKS[block]
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(3, stem_width, 7, stride=2, padding=3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(3, stride=2, padding=1)
        else:
            self.conv1 = nn.Conv2d(3, stem_width, 3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(stem_width)
        self.relu = nn.ReLU(inplace=True)
        channels = stem_width
        self.stages = len(blocks)
        for index, (count, width) in enumerate(zip(blocks, planes, strict=True)):
            layer = []
            for i in range(count):
                stride = 2 if index > 0 and i == 0 else 1
                layer.append(kind(channels, width, stride, shortcut, groups, base_width,
                                  stride_on_3x3))
                channels = width * kind.expansion
            setattr(self, f"layer{index + 1}", nn.Sequential(*layer))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        for module in self.modules():  # torchvision's initialisation
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def residual_blocks(self) -> list[ResidualBlock]:
        """The blocks in the order the input meets them."""
        return [m for m in self.modules() if isinstance(m, ResidualBlock)]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for index in range(1, self.stages + 1):
            x = getattr(self, f"layer{index}")(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(self.forward_features(x)), 1))


def zero_init_last_bn(model: nn.Module) -> nn.Module:
    """Zero the scale of each block's last BN, so every block starts as the identity (Goyal et
    al. 2017, torchvision's ``zero_init_residual``; the lecture's "простая инициализация")."""
    for module in model.modules():
        if isinstance(module, Bottleneck):
            nn.init.zeros_(module.bn3.weight)
        elif isinstance(module, BasicBlock):
            nn.init.zeros_(module.bn2.weight)
    return model


def _imagenet_resnet(
    name: str,
    variant: str,
    num_classes: int,
    stride_on_3x3: bool = True,
    stochastic_depth: float | None = None,
    zero_init_residual: bool = False,
    width: int = 64,
) -> ResNet:
    from lecture21.models.stochastic_depth import apply_stochastic_depth

    block, blocks = DEPTHS[name]
    if width < 1:
        raise ValueError(f"width must be a positive int, got {width!r}")
    model = ResNet(block, blocks, [width * 2**i for i in range(4)], num_classes, stem=variant,
                   stem_width=width, stride_on_3x3=stride_on_3x3)
    if zero_init_residual:
        zero_init_last_bn(model)
    if stochastic_depth is not None:
        apply_stochastic_depth(model, stochastic_depth)
    return model


def _stages(reference: nn.Module, name: str, found: tuple[int, ...]) -> None:
    if found != DEPTHS[name][1]:
        raise ValueError(f"reference must have {name}'s stages {DEPTHS[name][1]}, got {found}")


def options_from_torchvision(name: str) -> Callable[[nn.Module], dict]:
    """The reader of a torchvision or timm ``name`` (same module names) into our options: its
    stages checked against table 1; its width (ResNet-18) and the bottleneck's stride placement
    read from the instance."""

    def read(reference: nn.Module) -> dict:
        _stages(reference, name, tuple(len(getattr(reference, f"layer{i}", ()))
                                       for i in range(1, 5)))
        if DEPTHS[name][0] == "bottleneck":
            return {"stride_on_3x3": reference.layer2[0].conv2.stride[0] == 2}
        return {"width": reference.conv1.out_channels} if name == "resnet18" else {}

    return read


def options_from_pytorchcv(name: str) -> Callable[[nn.Module], dict]:
    """The reader of pytorchcv's ``name``: its ``resnet50/101/152`` stride the first 1x1 of a
    bottleneck, as the paper (``resnet50b`` the 3x3)."""

    def read(reference: nn.Module) -> dict:
        features = reference.features
        _stages(reference, name, tuple(len(getattr(features, f"stage{i}", ()))
                                       for i in range(1, 5)))
        return {"stride_on_3x3": features.stage2.unit1.body.conv1.conv.stride[0] == 1}

    return read


def references(name: str) -> tuple[Reference, ...]:
    """torchvision's and timm's ``name`` (timm's ``tv_in1k`` are torchvision's weights), and
    for the bottleneck networks pytorchcv's, which puts the stride where the paper does."""
    title = name.replace("resnet", "ResNet")
    read = options_from_torchvision(name)
    declared = (
        Reference("torchvision", name, f"{title}_Weights.IMAGENET1K_V1", options=read),
        Reference("timm", name, f"{name}.tv_in1k", options=read),
    )
    if DEPTHS[name][0] == "bottleneck":
        declared += (Reference("pytorchcv", name, None, options=options_from_pytorchcv(name)),)
    return declared


@register("resnet18", variants=("cifar", "imagenet"), references=references("resnet18"))
def resnet18(
    variant: str = "cifar",
    num_classes: int = 10,
    width: int = 64,
    stochastic_depth: float | None = None,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-18: 2 ``BasicBlock``s per stage; ``variant`` picks the stem (see the module)."""
    return _imagenet_resnet("resnet18", variant, num_classes, True, stochastic_depth,
                            zero_init_residual, width)


@register("resnet34", variants=("imagenet",), references=references("resnet34"))
def resnet34(
    variant: str = "imagenet",
    num_classes: int = 1000,
    stochastic_depth: float | None = None,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-34: 3, 4, 6, 3 ``BasicBlock``s (table 1; the residual net of figure 3)."""
    return _imagenet_resnet("resnet34", variant, num_classes, True, stochastic_depth,
                            zero_init_residual)


@register("resnet50", variants=("imagenet",), references=references("resnet50"))
def resnet50(
    variant: str = "imagenet",
    num_classes: int = 1000,
    stride_on_3x3: bool = True,
    stochastic_depth: float | None = None,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-50: 3, 4, 6, 3 ``Bottleneck``s (table 1)."""
    return _imagenet_resnet("resnet50", variant, num_classes, stride_on_3x3, stochastic_depth,
                            zero_init_residual)


@register("resnet101", variants=("imagenet",), references=references("resnet101"))
def resnet101(
    variant: str = "imagenet",
    num_classes: int = 1000,
    stride_on_3x3: bool = True,
    stochastic_depth: float | None = None,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-101: 3, 4, 23, 3 ``Bottleneck``s (table 1)."""
    return _imagenet_resnet("resnet101", variant, num_classes, stride_on_3x3, stochastic_depth,
                            zero_init_residual)


@register("resnet152", variants=("imagenet",), references=references("resnet152"))
def resnet152(
    variant: str = "imagenet",
    num_classes: int = 1000,
    stride_on_3x3: bool = True,
    stochastic_depth: float | None = None,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-152: 3, 8, 36, 3 ``Bottleneck``s (table 1)."""
    return _imagenet_resnet("resnet152", variant, num_classes, stride_on_3x3, stochastic_depth,
                            zero_init_residual)
