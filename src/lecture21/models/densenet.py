"""DenseNet (Huang, Liu, van der Maaten, Weinberger 2017, "Densely Connected Convolutional
Networks").

Slides "DenseNet": inside a dense block, layer i receives the feature maps of ALL earlier
layers, concatenated, not summed: ``x_i = H_i([x_0, x_1, ..., x_{i-1}])``. Every layer adds
``k`` (the growth rate) new maps, so a block of ``n`` layers turns ``c`` maps into
``c + n * k``. ``H_i`` is BN-ReLU-Conv(1x1, 4k)-BN-ReLU-Conv(3x3, k) (the "B" of DenseNet-BC);
between blocks a transition layer BN-ReLU-Conv(1x1)-AvgPool(2x2) halves the number of maps
(compression theta = 0.5, the "C") and the resolution.

* ``imagenet``: DenseNet-121/169/201 of the paper's Table 1 (growth rate 32, 7x7/2 stem and a
  3x3/2 max pooling, four dense blocks of 6-12-24-16 / 6-12-32-32 / 6-12-48-32 layers). Module
  names equal torchvision's and timm's, so their weights load by name; torchvision's weights
  files still carry the legacy keys ``norm.1``/``conv.2`` of the LuaTorch port: ``LEGACY_KEYS``
  renames them.
* ``cifar``: DenseNet-BC for 32x32 inputs (the paper's section 3, "Implementation details"): a
  3x3 convolution with ``2k`` maps, three dense blocks of ``(L - 4) / 6`` bottleneck layers
  each, no stem pooling. The paper's L=100, k=12 is ``depth=100``; the default ``depth=40``
  (6 layers per block) trains on a CPU.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from lecture21.models.registry import Reference, register

#: DenseNet-121/169/201: layers per dense block (the paper's Table 1).
BLOCKS = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32)}

#: torchvision's weights files name a dense layer's modules ``norm.1``, ``relu.1``, ``conv.1``,
#: ``norm.2``... (dots are no longer allowed in module names): (regex, replacement) pairs that
#: give our ``norm1``, ``conv1``... A no-op on keys that are already new.
LEGACY_KEYS: tuple[tuple[str, str], ...] = (
    (r"^(.*denselayer\d+\.(?:norm|relu|conv))\.([12])\.", r"\1\2."),
)


class DenseLayer(nn.Module):
    """``H_i``: BN-ReLU-Conv(1x1, ``bn_size * k``)-BN-ReLU-Conv(3x3, ``k``) on the concatenation
    of every earlier layer's maps; returns only its own ``k`` new maps."""

    def __init__(self, in_channels: int, growth_rate: int, bn_size: int = 4) -> None:
        super().__init__()
        width = bn_size * growth_rate
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, growth_rate, 3, padding=1, bias=False)

    def forward(self, features: list[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        if isinstance(features, torch.Tensor):
            features = [features]
        x = torch.cat(features, 1)  # [x_0, x_1, ..., x_{i-1}]
        x = self.conv1(self.relu1(self.norm1(x)))
        return self.conv2(self.relu2(self.norm2(x)))


class DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers; the output concatenates the input and every layer's maps:
    ``in_channels + num_layers * growth_rate`` maps."""

    def __init__(
        self, num_layers: int, in_channels: int, growth_rate: int, bn_size: int = 4
    ) -> None:
        super().__init__()
        for i in range(num_layers):
            self[f"denselayer{i + 1}"] = DenseLayer(
                in_channels + i * growth_rate, growth_rate, bn_size
            )
        self.out_channels = in_channels + num_layers * growth_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """Between two dense blocks: BN-ReLU-Conv(1x1) to ``out_channels`` maps, AvgPool 2x2/2."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            OrderedDict(
                norm=nn.BatchNorm2d(in_channels),
                relu=nn.ReLU(inplace=True),
                conv=nn.Conv2d(in_channels, out_channels, 1, bias=False),
                pool=nn.AvgPool2d(2, 2),
            )
        )


class DenseNet(nn.Module):
    """Stem, dense blocks joined by transitions, BN-ReLU, global average pooling, one FC layer.

    ``stem="imagenet"`` is Conv 7x7/2 (``2k`` maps)-BN-ReLU-MaxPool 3x3/2; ``stem="cifar"`` a
    single Conv 3x3 (``2k`` maps), as in the paper's CIFAR networks.
    """

    def __init__(
        self,
        blocks: tuple[int, ...],
        growth_rate: int = 32,
        num_classes: int = 1000,
        bn_size: int = 4,
        compression: float = 0.5,
        stem: str = "imagenet",
    ) -> None:
        super().__init__()
        if not blocks or any(int(n) < 1 for n in blocks):
            raise ValueError(f"blocks must be positive layer counts, got {blocks!r}")
        if not 0.0 < compression <= 1.0:
            raise ValueError(f"compression must be in (0, 1], got {compression!r}")
        if stem not in {"imagenet", "cifar"}:
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
        self.growth_rate = growth_rate
        channels = 2 * growth_rate
        if stem == "imagenet":
            layers = OrderedDict(
                conv0=nn.Conv2d(3, channels, 7, 2, 3, bias=False),
                norm0=nn.BatchNorm2d(channels),
                relu0=nn.ReLU(inplace=True),
                pool0=nn.MaxPool2d(3, 2, 1),
            )
        else:
            layers = OrderedDict(conv0=nn.Conv2d(3, channels, 3, 1, 1, bias=False))
        self.features = nn.Sequential(layers)
        for i, num_layers in enumerate(blocks, start=1):
            block = DenseBlock(int(num_layers), channels, growth_rate, bn_size)
            self.features.add_module(f"denseblock{i}", block)
            channels = block.out_channels
            if i < len(blocks):
                reduced = int(channels * compression)
                self.features.add_module(f"transition{i}", Transition(channels, reduced))
                channels = reduced
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.classifier = nn.Linear(channels, num_classes)
        for m in self.modules():  # the initialisation of the authors' LuaTorch code
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.features(x))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(x)


@dataclass
class BlockTrace:
    """What the hooks of :func:`trace_block` saw in one pass through a dense block: the block's
    input ``x_0``, the tensor each layer's first batch norm actually received (``received[i]``
    for layer ``i + 1``) and the ``k`` new maps each layer returned (``outputs``)."""

    block_input: torch.Tensor
    received: list[torch.Tensor] = field(default_factory=list)
    outputs: list[torch.Tensor] = field(default_factory=list)


def trace_block(block: DenseBlock, x: torch.Tensor) -> BlockTrace:
    """Run ``block`` on ``x`` (no gradients) with forward hooks on every dense layer: a
    pre-hook on its ``norm1`` records what the layer computes on, a hook on the layer records
    what it returns. The hooks are always removed. Slide "DenseNet": the check that layer ``i``
    receives ``[x_0, x_1, ..., x_{i-1}]`` is then a comparison of recorded tensors."""
    if not isinstance(block, DenseBlock):
        raise ValueError(f"block must be a DenseBlock, got {type(block).__name__}")
    trace = BlockTrace(x)
    handles = []
    for layer in block.values():
        handles.append(layer.norm1.register_forward_pre_hook(
            lambda _m, args: trace.received.append(args[0].detach().clone())))
        handles.append(layer.register_forward_hook(
            lambda _m, _args, out: trace.outputs.append(out.detach().clone())))
    try:
        with torch.no_grad():
            block(x)
    finally:
        for handle in handles:
            handle.remove()
    return trace


def feature_reuse(block: DenseBlock, transition: nn.Module | None = None) -> torch.Tensor:
    """The paper's Figure 5 for one block: entry ``[target, source]`` is the mean absolute
    weight with which layer ``target`` (1..n; ``n + 1`` is ``transition``'s convolution, or the
    classifier's ``nn.Linear``, if given) reads the maps of ``source`` (0 = the block's input,
    ``s`` = dense layer ``s``), normalised by the number of those maps; NaN where layer
    ``target`` cannot see ``source`` (``source >= target``)."""
    if not isinstance(block, DenseBlock):
        raise ValueError(f"block must be a DenseBlock, got {type(block).__name__}")
    layers = list(block.values())
    growth = layers[0].conv2.out_channels
    first = layers[0].conv1.in_channels
    readers = [layer.conv1.weight for layer in layers]
    if transition is not None:
        weight = transition.conv.weight if hasattr(transition, "conv") else transition.weight
        readers.append(weight)
    heat = torch.full((len(readers), len(layers) + 1), float("nan"))
    for target, weight in enumerate(readers, start=1):
        w = weight.detach().abs()
        w = (w.flatten(2).mean(2) if w.dim() > 2 else w).mean(0)  # per input map
        bounds = [0, first, *(first + growth * s for s in range(1, target))]
        for source in range(target):
            heat[target - 1, source] = w[bounds[source]:bounds[source + 1]].mean()
    return heat


def _references(depth: int, timm_tag: str) -> tuple[Reference, ...]:
    """torchvision's DenseNet (its files need :data:`LEGACY_KEYS`) and timm's, same names."""
    return (
        Reference("torchvision", f"densenet{depth}", f"DenseNet{depth}_Weights.IMAGENET1K_V1",
                  rename=LEGACY_KEYS),
        Reference("timm", f"densenet{depth}", f"densenet{depth}.{timm_tag}"),
    )


def _imagenet(depth: int, variant: str, num_classes: int) -> DenseNet:
    if variant != "imagenet":
        raise ValueError(f"densenet{depth} has only the 'imagenet' variant, got {variant!r}")
    return DenseNet(BLOCKS[depth], 32, num_classes)


@register("densenet121", variants=("imagenet",), references=_references(121, "ra_in1k"))
def densenet121(variant: str = "imagenet", num_classes: int = 1000) -> DenseNet:
    """DenseNet-121 (k=32; 6-12-24-16 layers): 7.98 M parameters, 2.83 G multiply-adds."""
    return _imagenet(121, variant, num_classes)


@register("densenet169", variants=("imagenet",), references=_references(169, "tv_in1k"))
def densenet169(variant: str = "imagenet", num_classes: int = 1000) -> DenseNet:
    """DenseNet-169 (k=32; 6-12-32-32 layers)."""
    return _imagenet(169, variant, num_classes)


@register("densenet201", variants=("imagenet",), references=_references(201, "tv_in1k"))
def densenet201(variant: str = "imagenet", num_classes: int = 1000) -> DenseNet:
    """DenseNet-201 (k=32; 6-12-48-32 layers)."""
    return _imagenet(201, variant, num_classes)


@register("densenet_bc", variants=("cifar",))
def densenet_bc(
    variant: str = "cifar", num_classes: int = 10, depth: int = 40, growth_rate: int = 12
) -> DenseNet:
    """DenseNet-BC for CIFAR: three blocks of ``(depth - 4) / 6`` bottleneck layers.

    ``depth=100, growth_rate=12`` is the paper's DenseNet-BC (L=100, k=12; 0.8 M parameters,
    4.51 % error on C10+, Table 2); the default ``depth=40`` is the CPU-sized one.
    """
    if not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
        raise ValueError(f"depth must be an int 6n + 4 >= 10 (40, 100, ...), got {depth!r}")
    if not isinstance(growth_rate, int) or growth_rate < 1:
        raise ValueError(f"growth_rate must be a positive int, got {growth_rate!r}")
    n = (depth - 4) // 6
    return DenseNet((n, n, n), growth_rate, num_classes, stem="cifar")
