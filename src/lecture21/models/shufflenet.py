"""ShuffleNet v1 (Zhang, Zhou, Lin, Sun 2018, "ShuffleNet: An Extremely Efficient Convolutional
Neural Network for Mobile Devices") and ShuffleNet v2 (Ma, Zhang, Zheng, Sun 2018, "ShuffleNet
V2: Practical Guidelines for Efficient CNN Architecture Design").

Slide "ShuffleNet". Grouped 1x1 convolutions make the pointwise layers ``g`` times cheaper, but
a stack of them never lets information cross between groups: output group i sees only input
group i. The channel shuffle (the paper's Figure 1) fixes this at no cost: reshape the ``g * n``
maps to ``(g, n)``, transpose to ``(n, g)``, flatten, so that the next grouped convolution's
every group receives maps from every group of the previous one.

* ``shufflenet_v1`` -- the ShuffleNet unit (Figure 2b): 1x1 group conv (to a quarter of the
  unit's output maps)-BN-ReLU, channel shuffle, 3x3 depthwise conv-BN, 1x1 group conv-BN, added
  to the input, ReLU. With stride 2 (Figure 2c) the depthwise conv has stride 2, the shortcut is
  a 3x3/2 average pooling and the two are concatenated instead of added. The network is the
  paper's Table 1: Conv 3x3/2 with 24 maps, MaxPool 3x3/2, stages of 4, 8, 4 units (240, 480,
  960 maps for g=3 at 1x), global pooling, FC; 137 M multiply-adds ("FLOPs" in the paper) for
  g=3. The first 1x1 convolution of stage 2 is not grouped (its input has only 24 maps).
  Global pooling, then ONE fully connected layer: ShuffleNet keeps its FC layer.
* ``shufflenet_v2_x1_0`` -- the v2 unit (Figure 3c, d): a channel split, one half passes
  unchanged, the other goes through 1x1 conv-BN-ReLU, 3x3 depthwise conv-BN, 1x1 conv-BN-ReLU;
  concatenation and a shuffle of 2 groups. No grouped 1x1 convolutions (guideline G2), equal
  widths (G1). Table 5: stages of 4, 8, 4 units with 116, 232, 464 maps at 1x, Conv5 1x1 with
  1024 maps, global pooling, FC. Module names equal torchvision's (``conv1``, ``stage2``...,
  ``branch1``, ``branch2``, ``conv5``, ``fc``), which are the paper's Table 5 names.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from lecture21.models.registry import Reference, register

#: ShuffleNet v1, Table 1: groups -> output maps of stages 2, 3, 4 at 1x.
V1_CHANNELS = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960),
               4: (272, 544, 1088), 8: (384, 768, 1536)}
#: ShuffleNet v2, Table 5: width -> output maps of stages 2, 3, 4 and of Conv5.
V2_CHANNELS = {0.5: (48, 96, 192, 1024), 1.0: (116, 232, 464, 1024),
               1.5: (176, 352, 704, 1024), 2.0: (244, 488, 976, 2048)}
REPEATS = (4, 8, 4)  # units in stages 2, 3, 4 (both versions)


class ChannelShuffle(nn.Module):
    """``(N, g*n, H, W) -> (N, n*g, H, W)``: map ``i*n + j`` moves to position ``j*g + i``."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f"groups must be a positive int, got {groups!r}")
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        if c % self.groups:
            raise ValueError(f"{c} maps do not split into groups={self.groups}")
        x = x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2)
        return x.reshape(n, c, h, w)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class ShuffleUnit(nn.Module):
    """The ShuffleNet v1 unit (Figure 2b; with ``stride=2`` Figure 2c).

    ``out_channels`` are the unit's output maps (with stride 2 the concatenation of the
    branch's ``out_channels - in_channels`` maps and the pooled input); the bottleneck has
    ``out_channels // 4`` maps. ``group_first=False`` leaves the first 1x1 convolution ungrouped.
    ``shuffle=False`` removes the channel shuffle (the paper's Table 3 ablation).
    """

    def __init__(
        self, in_channels: int, out_channels: int, groups: int = 3, stride: int = 1,
        group_first: bool = True, shuffle: bool = True,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride!r}")
        if stride == 1 and in_channels != out_channels:
            raise ValueError("a stride-1 ShuffleUnit adds its input: in_channels must equal "
                             f"out_channels, got {in_channels} and {out_channels}")
        self.stride = stride
        mid = out_channels // 4
        branch = out_channels - in_channels if stride == 2 else out_channels
        self.gconv1 = nn.Conv2d(in_channels, mid, 1, groups=groups if group_first else 1,
                                bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.relu1 = nn.ReLU(inplace=True)
        self.shuffle = ChannelShuffle(groups) if shuffle else nn.Identity()
        self.dwconv = nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.gconv2 = nn.Conv2d(mid, branch, 1, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm2d(branch)
        self.shortcut = nn.AvgPool2d(3, 2, 1) if stride == 2 else nn.Identity()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.shuffle(self.relu1(self.bn1(self.gconv1(x))))
        y = self.bn3(self.gconv2(self.bn2(self.dwconv(y))))
        if self.stride == 2:
            return self.relu(torch.cat([y, self.shortcut(x)], 1))
        return self.relu(y + x)


def group_reach(module: nn.Module, channels: int, groups: int, size: int = 6) -> torch.Tensor:
    """Which input groups the output groups of ``module`` depend on: entry ``[out, in]`` is
    the summed absolute gradient of output group ``out``'s sum with respect to input group
    ``in`` (eval mode, one random input of ``channels`` maps of ``size`` x ``size``). Zero means
    that no information passes from that input group to that output group (slide "ShuffleNet":
    stacked group convolutions without the shuffle never mix the groups)."""
    if channels % groups:
        raise ValueError(f"channels={channels} must split into groups={groups}")
    was_training = module.training
    module.eval()
    try:
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(1, channels, size, size, generator=generator, requires_grad=True)
        y = module(x)
        per_out = y.shape[1] // groups
        reach = torch.zeros(groups, groups)
        for out in range(groups):
            (grad,) = torch.autograd.grad(y[:, out * per_out:(out + 1) * per_out].sum(), x,
                                          retain_graph=True)
            reach[out] = grad.abs().sum((0, 2, 3)).view(groups, -1).sum(1)
    finally:
        module.train(was_training)
    return reach


class ShuffleNetV1(nn.Module):
    """Stem, three stages of ``ShuffleUnit`` s (the first of each with stride 2), global average
    pooling, FC. ``stem="cifar"`` is a 3x3/1 convolution without max pooling."""

    def __init__(
        self, groups: int = 3, width: float = 1.0, num_classes: int = 1000,
        stem: str = "imagenet", shuffle: bool = True,
    ) -> None:
        super().__init__()
        if groups not in V1_CHANNELS:
            raise ValueError(f"groups must be one of {sorted(V1_CHANNELS)}, got {groups!r}")
        if not width > 0:
            raise ValueError(f"width must be positive, got {width!r}")
        if stem not in {"imagenet", "cifar"}:
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
        channels = int(24 * width)
        stride = 2 if stem == "imagenet" else 1
        layers = OrderedDict(
            conv=nn.Conv2d(3, channels, 3, stride, 1, bias=False),
            bn=nn.BatchNorm2d(channels),
            relu=nn.ReLU(inplace=True),
        )
        if stem == "imagenet":
            layers["pool"] = nn.MaxPool2d(3, 2, 1)
        self.stem = nn.Sequential(layers)
        for i, (repeats, out) in enumerate(zip(REPEATS, V1_CHANNELS[groups]), start=2):
            out = int(out * width)
            units = [ShuffleUnit(channels, out, groups, 2, group_first=i > 2, shuffle=shuffle)]
            units += [ShuffleUnit(out, out, groups, shuffle=shuffle) for _ in range(repeats - 1)]
            self.add_module(f"stage{i}", nn.Sequential(*units))
            channels = out
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage4(self.stage3(self.stage2(self.stem(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


class ShuffleUnitV2(nn.Module):
    """The ShuffleNet v2 unit (Figure 3c; with ``stride=2`` Figure 3d, where both branches
    see the whole input and the output has twice the maps)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride!r}")
        half = out_channels // 2
        if stride == 1 and in_channels != 2 * half:
            raise ValueError(f"a stride-1 unit keeps its maps: in_channels must be "
                             f"{2 * half}, got {in_channels}")
        self.stride = stride
        if stride == 2:
            self.branch1 = nn.Sequential(
                nn.Conv2d(in_channels, in_channels, 3, 2, 1, groups=in_channels, bias=False),
                nn.BatchNorm2d(in_channels),
                nn.Conv2d(in_channels, half, 1, bias=False),
                nn.BatchNorm2d(half),
                nn.ReLU(inplace=True),
            )
        else:
            self.branch1 = nn.Sequential()  # the channel split's untouched half
        self.branch2 = nn.Sequential(
            nn.Conv2d(in_channels if stride == 2 else half, half, 1, bias=False),
            nn.BatchNorm2d(half),
            nn.ReLU(inplace=True),
            nn.Conv2d(half, half, 3, stride, 1, groups=half, bias=False),
            nn.BatchNorm2d(half),
            nn.Conv2d(half, half, 1, bias=False),
            nn.BatchNorm2d(half),
            nn.ReLU(inplace=True),
        )
        self.shuffle = ChannelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            kept, x = x.chunk(2, dim=1)  # the channel split
            out = torch.cat([kept, self.branch2(x)], 1)
        else:
            out = torch.cat([self.branch1(x), self.branch2(x)], 1)
        return self.shuffle(out)


class ShuffleNetV2(nn.Module):
    """Table 5: Conv1 3x3/2 (24 maps), MaxPool, Stage2-4, Conv5 1x1, global pooling, FC."""

    def __init__(self, width: float = 1.0, num_classes: int = 1000, stem: str = "imagenet"):
        super().__init__()
        if width not in V2_CHANNELS:
            raise ValueError(f"width must be one of {sorted(V2_CHANNELS)}, got {width!r}")
        if stem not in {"imagenet", "cifar"}:
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
        *stages, last = V2_CHANNELS[width]
        self.conv1 = nn.Sequential(
            nn.Conv2d(3, 24, 3, 2 if stem == "imagenet" else 1, 1, bias=False),
            nn.BatchNorm2d(24),
            nn.ReLU(inplace=True),
        )
        self.maxpool = nn.MaxPool2d(3, 2, 1) if stem == "imagenet" else nn.Identity()
        channels = 24
        for i, (repeats, out) in enumerate(zip(REPEATS, stages), start=2):
            units = [ShuffleUnitV2(channels, out, 2)]
            units += [ShuffleUnitV2(out, out, 1) for _ in range(repeats - 1)]
            self.add_module(f"stage{i}", nn.Sequential(*units))
            channels = out
        self.conv5 = nn.Sequential(
            nn.Conv2d(channels, last, 1, bias=False),
            nn.BatchNorm2d(last),
            nn.ReLU(inplace=True),
        )
        self.fc = nn.Linear(last, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage4(self.stage3(self.stage2(self.maxpool(self.conv1(x)))))
        return self.fc(self.conv5(x).mean((2, 3)))


def options_from_pytorchcv(reference: nn.Module) -> dict:
    """Our options for pytorchcv's ShuffleNet, read from the instance: the groups of its
    grouped 1x1 convolutions."""
    groups = max(m.groups for m in reference.modules()
                 if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1))
    return {"groups": groups}


@register("shufflenet_v1", variants=("cifar", "imagenet"), references=(
    Reference("pytorchcv", "shufflenet_g3_w1", options=options_from_pytorchcv),
))
def shufflenet_v1(
    variant: str = "cifar", num_classes: int = 10, groups: int = 3, width: float | None = None,
    shuffle: bool = True,
) -> ShuffleNetV1:
    """ShuffleNet v1 ``width`` x (g = ``groups``): ImageNet 1x, g=3 by default (Table 1).
    ``cifar``: a 3x3/1 stem without max pooling and 0.5x widths. ``shuffle=False``: no shuffle."""
    if width is None:
        width = 1.0 if variant == "imagenet" else 0.5
    if variant == "imagenet":
        return ShuffleNetV1(groups, width, num_classes, shuffle=shuffle)
    return ShuffleNetV1(groups, width, num_classes, stem="cifar", shuffle=shuffle)


@register("shufflenet_v2_x1_0", variants=("cifar", "imagenet"), references=(
    Reference("torchvision", "shufflenet_v2_x1_0", "ShuffleNet_V2_X1_0_Weights.IMAGENET1K_V1"),
))
def shufflenet_v2_x1_0(
    variant: str = "cifar", num_classes: int = 10, width: float | None = None
) -> ShuffleNetV2:
    """ShuffleNet v2 1x (Table 5: 2.3 M parameters, 146 M multiply-adds). ``cifar``: a 3x3/1
    stem without max pooling, 0.5x widths (``width`` picks another column of Table 5)."""
    if width is None:
        width = 1.0 if variant == "imagenet" else 0.5
    if variant == "imagenet":
        return ShuffleNetV2(width, num_classes)
    return ShuffleNetV2(width, num_classes, stem="cifar")
