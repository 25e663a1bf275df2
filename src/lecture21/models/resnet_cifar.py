"""The paper's CIFAR-10 networks (He et al. 2016, section 4.2, figure 6 and table 6).

Slides "Проблема глубоких сетей" and "ResNet": a 3x3 convolution with 16 filters, then three
stages of ``n`` blocks on 32, 16 and 8 pixel maps with 16, 32 and 64 filters, global average
pooling and a 10-way fc: ``6n + 2`` weighted layers (n = 3, 5, 7, 9, 18 gives 20, 32, 44, 56,
110). The residual networks use option A shortcuts (identity, zero-padded channels where the
width doubles: no extra parameters), so ``resnetN`` and ``plainN`` have exactly the same
parameters and differ only in the shortcuts. Table 6 lists 0.27 M, 0.46 M, 0.66 M, 0.85 M and
1.7 M parameters for ResNet-20, 32, 44, 56 and 110 (the tests check the counts to the paper's
precision).

Options: ``stochastic_depth=p_L`` (the residual networks only; Huang et al. 2016 trained
ResNet-110 with ``p_L = 0.5``), ``zero_init_residual`` (each block starts as the identity) and
``shortcut="B"`` (1x1 conv-BN projections where the width doubles, as pytorchcv's
``resnet20_cifar10``, ``resnet56_cifar10`` and ``resnet110_cifar10``, which are declared as
references: the same network apart from the shortcuts, with CIFAR-10 weights in pytorchcv's
store).
"""

from __future__ import annotations

from torch import nn

from lecture21.models.registry import Reference, register
from lecture21.models.resnet import ResNet, zero_init_last_bn
from lecture21.models.stochastic_depth import apply_stochastic_depth

#: Blocks per stage ``n`` of each depth ``6n + 2`` (table 6 of the paper).
BLOCKS_PER_STAGE = {20: 3, 32: 5, 44: 7, 56: 9, 110: 18}
#: Parameters reported in table 6 of the paper (ResNet-20 ... ResNet-110).
PAPER_PARAMETERS = {20: 0.27e6, 32: 0.46e6, 44: 0.66e6, 56: 0.85e6, 110: 1.7e6}


def cifar_resnet(
    depth: int,
    num_classes: int = 10,
    residual: bool = True,
    stochastic_depth: float | None = None,
    zero_init_residual: bool = False,
    width: int = 16,
    shortcut: str = "A",
) -> ResNet:
    """ResNet-``depth`` (or its plain counterpart with ``residual=False``) for 32x32 inputs;
    ``shortcut`` is the paper's option ``"A"`` (zero padding) or ``"B"`` (projection)."""
    if depth not in BLOCKS_PER_STAGE:
        raise ValueError(f"depth must be one of {sorted(BLOCKS_PER_STAGE)}, got {depth!r}")
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive int, got {width!r}")
    if shortcut not in ("A", "B"):
        raise ValueError(f"shortcut must be 'A' or 'B', got {shortcut!r}")
    n = BLOCKS_PER_STAGE[depth]
    model = ResNet("basic", (n, n, n), (width, 2 * width, 4 * width), num_classes, stem="cifar",
                   stem_width=width, shortcut=shortcut if residual else "none")
    if zero_init_residual:
        if not residual:
            raise ValueError("zero_init_residual needs shortcuts: a plain net would output 0")
        zero_init_last_bn(model)
    if stochastic_depth is not None:
        if not residual:
            raise ValueError("stochastic_depth needs shortcuts: the plain networks have none")
        apply_stochastic_depth(model, stochastic_depth)
    return model


def options_from_pytorchcv(depth: int):
    """The reader of pytorchcv's ``resnet<depth>_cifar10``: blocks per stage checked, width and
    shortcut kind (its units have an ``identity_conv`` projection where the width doubles)."""

    def read(reference: nn.Module) -> dict:
        features = reference.features
        stages = tuple(len(getattr(features, f"stage{i}", ())) for i in (1, 2, 3))
        n = BLOCKS_PER_STAGE[depth]
        if stages != (n, n, n):
            raise ValueError(f"reference must have ResNet-{depth}'s stages {(n, n, n)}, "
                             f"got {stages}")
        projection = hasattr(features.stage2.unit1, "identity_conv")
        return {"width": features.init_block.conv.out_channels,
                "shortcut": "B" if projection else "A"}

    return read


#: pytorchcv's CIFAR-10 ResNets (option B shortcuts) of the paper's depths.
PYTORCHCV = {20: "resnet20_cifar10", 56: "resnet56_cifar10", 110: "resnet110_cifar10"}


def _register_residual(depth: int) -> None:
    def build(
        variant: str = "cifar",
        num_classes: int = 10,
        stochastic_depth: float | None = None,
        zero_init_residual: bool = False,
        width: int = 16,
        shortcut: str = "A",
    ) -> ResNet:
        return cifar_resnet(depth, num_classes, True, stochastic_depth, zero_init_residual,
                            width, shortcut)

    references = ()
    if depth in PYTORCHCV:
        references = (Reference("pytorchcv", PYTORCHCV[depth], None,
                                options=options_from_pytorchcv(depth), variant="cifar"),)
    build.__name__ = f"resnet{depth}"
    build.__doc__ = f"ResNet-{depth} of the paper's CIFAR-10 experiments (option A shortcuts)."
    register(f"resnet{depth}", variants=("cifar",), references=references)(build)


def _register_plain(depth: int) -> None:
    def build(
        variant: str = "cifar",
        num_classes: int = 10,
        width: int = 16,
    ) -> ResNet:
        return cifar_resnet(depth, num_classes, False, None, False, width)

    build.__name__ = f"plain{depth}"
    build.__doc__ = f"The plain {depth}-layer network of the paper: ResNet-{depth} minus shortcuts."
    register(f"plain{depth}", variants=("cifar",))(build)


for _depth in (20, 32, 44, 56, 110):
    _register_residual(_depth)
for _depth in (20, 32, 44, 56):  # the plain networks of figure 6 and table 6
    _register_plain(_depth)
