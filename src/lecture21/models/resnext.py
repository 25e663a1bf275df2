"""ResNeXt (Xie et al., "Aggregated Residual Transformations for Deep Neural Networks", CVPR 2017).

Slide "ResNeXt": a residual block that sums ``C`` (the cardinality) identical low-dimensional
transformations, ``y = x + sum_i T_i(x)``. Figure 3 of the paper shows three equivalent forms;
form (c), used here as in the paper's code, torchvision and timm, is a bottleneck block whose
3x3 convolution is grouped: ``C`` groups of ``d`` channels each (``C x d``, e.g. 32x4d). That is
:class:`lecture21.models.resnet.Bottleneck` with ``groups=C`` and ``base_width=d``: the 3x3 of a
stage with ``planes`` channels has ``planes / 64 * d * C`` of them.

* ``resnext50_32x4d`` (``"imagenet"``, table 1 of the paper): ResNet-50's layout, 25.0 M
  parameters (paper: 25.0 M). Module names equal torchvision's and timm's.
* ``resnext29`` (``"cifar"``, section 5.3): a 3x3 stem with 64 filters, three stages of three
  bottleneck blocks (outputs 256, 512, 1024 channels on 32, 16, 8 pixel maps), 29 layers. The
  paper's ResNeXt-29 8x64d has 34.4 M parameters (table 7) and ``16x64d`` 68.1 M; a CPU-sized
  one is e.g. ``cardinality=4, bottleneck_width=4, width=16`` (stages of 64, 128, 256 outputs).
  pytorchcv's ``resnext29_32x4d_cifar10`` (and ``16x64d``) are the same network (declared as a
  reference; CIFAR-10 weights in pytorchcv's store).
"""

from __future__ import annotations

from torch import nn

from lecture21.models.registry import Reference, register
from lecture21.models.resnet import ResNet, zero_init_last_bn
from lecture21.models.stochastic_depth import apply_stochastic_depth

#: Parameters of the paper's networks (tables 1 and 7): (cardinality, bottleneck width) -> count.
PAPER_PARAMETERS = {"resnext50_32x4d": 25.0e6, "resnext29_8x64d": 34.4e6,
                    "resnext29_16x64d": 68.1e6}


def options_from_torchvision(reference: nn.Module) -> dict:
    """Read a torchvision or timm ``resnext50_32x4d`` (same module names): stages, cardinality
    and group width are checked against 32x4d, the stride placement is read."""
    blocks = tuple(len(getattr(reference, f"layer{i}", ())) for i in range(1, 5))
    conv = reference.layer1[0].conv2
    found = (blocks, conv.groups, conv.out_channels // conv.groups)
    if found != ((3, 4, 6, 3), 32, 4):
        raise ValueError(f"reference must be ResNeXt-50 32x4d ((3, 4, 6, 3), 32, 4), got {found}")
    return {"stride_on_3x3": reference.layer2[0].conv2.stride[0] == 2}


@register("resnext50_32x4d", variants=("imagenet",), references=(
    Reference("torchvision", "resnext50_32x4d", "ResNeXt50_32X4D_Weights.IMAGENET1K_V1",
              options=options_from_torchvision),
    Reference("timm", "resnext50_32x4d", "resnext50_32x4d.tv_in1k",
              options=options_from_torchvision),
))
def resnext50_32x4d(
    variant: str = "imagenet",
    num_classes: int = 1000,
    stride_on_3x3: bool = True,
    stochastic_depth: float | None = None,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNeXt-50 (32x4d): ResNet-50 with 32 groups of 4 channels in the first stage's 3x3."""
    model = ResNet("bottleneck", (3, 4, 6, 3), (64, 128, 256, 512), num_classes,
                   stem="imagenet", groups=32, base_width=4, stride_on_3x3=stride_on_3x3)
    if zero_init_residual:
        zero_init_last_bn(model)
    if stochastic_depth is not None:
        apply_stochastic_depth(model, stochastic_depth)
    return model


def options_from_pytorchcv(reference: nn.Module) -> dict:
    """Read pytorchcv's ``resnext29_<C>x<d>d_cifar10``: three stages of three blocks checked;
    cardinality and group width read from the first grouped 3x3, the stem's width."""
    features = reference.features
    stages = tuple(len(getattr(features, f"stage{i}", ())) for i in (1, 2, 3))
    if stages != (3, 3, 3):
        raise ValueError(f"reference must have ResNeXt-29's stages (3, 3, 3), got {stages}")
    conv = features.stage1.unit1.body.conv2.conv
    return {"cardinality": conv.groups, "bottleneck_width": conv.out_channels // conv.groups,
            "width": features.init_block.conv.out_channels}


@register("resnext29", variants=("cifar",), references=(
    Reference("pytorchcv", "resnext29_32x4d_cifar10", None, options=options_from_pytorchcv,
              variant="cifar"),
))
def resnext29(
    variant: str = "cifar",
    num_classes: int = 10,
    cardinality: int = 8,
    bottleneck_width: int = 64,
    width: int = 64,
    stochastic_depth: float | None = None,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNeXt-29 (``cardinality`` x ``bottleneck_width``d) for 32x32 inputs; the defaults are
    the paper's 8x64d. ``width`` is the stem's filters and the first stage's ``planes`` (its
    blocks output ``4 * width``); the paper's is 64."""
    for label, value in (("cardinality", cardinality), ("bottleneck_width", bottleneck_width),
                         ("width", width)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{label} must be a positive int, got {value!r}")
    # The 3x3 of a stage with ``planes`` has round(planes * base_width / 64) channels per group:
    # this base width gives bottleneck_width, 2x and 4x of it in the three stages, as the paper.
    model = ResNet("bottleneck", (3, 3, 3), (width, 2 * width, 4 * width), num_classes,
                   stem="cifar", stem_width=width, groups=cardinality,
                   base_width=bottleneck_width * 64 / width)
    if zero_init_residual:
        zero_init_last_bn(model)
    if stochastic_depth is not None:
        apply_stochastic_depth(model, stochastic_depth)
    return model
