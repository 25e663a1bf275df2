"""Depth of a network as the papers count it: weight layers on the longest path from input to
output. Slide "Развитие глубоких нейросетей" (the ILSVRC winners' depth against their error).

AlexNet has "eight learned layers" (Krizhevsky et al., 2012, section 3), VGG-19 nineteen
"weight layers" (Simonyan & Zisserman, 2014, Table 1), GoogLeNet is "22 layers deep when
counting only layers with parameters" (Szegedy et al., 2015, section 5) and ResNet-152 has
152 (He et al., 2016). Counting all convolutions would give GoogLeNet 58 and ResNet-152 155
(parallel branches and projection shortcuts), so the count follows the longest path of the
traced graph instead: a parallel branch adds nothing, a layer in sequence adds one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.fx as fx
from torch import nn

from lecture21 import ilsvrc, measure, models

__all__ = ["WINNER_MODELS", "DepthRow", "depth_by_year", "weight_layer_depth"]

#: The ILSVRC entries whose architecture the course builds: ``ilsvrc.RESULTS`` model name ->
#: (registry name, options). ZFNet stands for Clarifai's 2013 entry, a ZFNet ensemble.
WINNER_MODELS: dict[str, tuple[str, dict]] = {
    "AlexNet": ("alexnet", {}),
    "ZFNet": ("zfnet", {}),
    "GoogLeNet": ("googlenet", {"aux_logits": False}),
    "VGG-16/19": ("vgg19", {}),
    "ResNet-152": ("resnet152", {}),
}


def _is_weight_layer(module: nn.Module) -> bool:
    return measure.layer_kind(module) in ("conv", "fc")


class _WeightLayerTracer(fx.Tracer):
    """Traces down to the weight layers only: a block without one (LRN, pooling, dropout) is a
    single opaque node, so its Python control flow never meets a traced value."""

    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        return _is_weight_layer(module) or not any(map(_is_weight_layer, module.modules()))


def weight_layer_depth(model: nn.Module) -> int:
    """The number of convolutional and fully connected layers on the longest path from the
    input to the output of ``model`` (in training-free form: build GoogLeNet without its
    auxiliary classifiers). Tracing needs no data: build the model on the meta device."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    graph = _WeightLayerTracer().trace(model)
    modules = dict(model.named_modules())
    depth: dict[fx.Node, int] = {}
    for node in graph.nodes:
        before = max((depth[n] for n in node.all_input_nodes), default=0)
        own = node.op == "call_module" and _is_weight_layer(modules[node.target])
        depth[node] = before + own
    outputs = [n for n in graph.nodes if n.op == "output"]
    return depth[outputs[0]]


@dataclass(frozen=True)
class DepthRow:
    year: int
    model: str
    top5_error: float
    depth: int | None  # None: not a network (hand-made features)
    winner: bool


def depth_by_year() -> list[DepthRow]:
    """Every ILSVRC entry the course plots (the winners and VGG), with the depth counted on
    our model where the course builds one (on the meta device: nothing is allocated)."""
    rows = []
    for result in ilsvrc.RESULTS:
        if not (result.winner or result.team == "VGG"):
            continue
        depth = None
        if result.model in WINNER_MODELS:
            name, options = WINNER_MODELS[result.model]
            with torch.device("meta"):
                depth = weight_layer_depth(models.create(name, "imagenet", **options))
        rows.append(DepthRow(result.year, result.model, result.top5_error, depth, result.winner))
    return rows
