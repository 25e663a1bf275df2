"""ImageNet top-1 accuracy of the architectures of notebooks 08 and 09, as their papers report
it, beside the figure torchvision measured for its own weights (one 224x224 centre crop).

Slides "DenseNet", "MobileNet", "SqueezeNet", "SqueezeNext", "ShuffleNet": the papers' tables
are cited by key of ``book/references.bib`` and table number; torchvision's figures are read
from the weights' metadata that ships with torchvision (offline), not typed here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PAPERS", "Reported", "torchvision_top1"]


@dataclass(frozen=True)
class Reported:
    """A paper's ImageNet top-1 accuracy (%) for one of our registry names: ``source`` is the
    bibliography key, ``where`` the table and the evaluation protocol."""

    top1: float
    source: str
    where: str


#: Top-1 accuracy (100 minus the reported top-1 error where a paper gives errors).
PAPERS: dict[str, Reported] = {
    "mobilenet_v1": Reported(70.6, "howard2017mobilenets", "табл. 8, 1.0 MobileNet-224"),
    "squeezenet1_0": Reported(57.5, "iandola2016squeezenet", "табл. 2"),
    "sqnxt23": Reported(59.05, "gholami2018squeezenext", "табл. 2, 1.0-SqNxt-23"),
    "shufflenet_v1": Reported(67.4, "zhang2018shufflenet",
                              "табл. 2: ошибка 32,6 % у ShuffleNet 1×, g = 3"),
    "shufflenet_v2_x1_0": Reported(69.4, "ma2018shufflenetv2",
                                   "табл. 8: ошибка 30,6 % у ShuffleNet v2 1×"),
    "vgg16": Reported(71.5, "howard2017mobilenets", "табл. 8 (VGG 16)"),
    "resnet50": Reported(77.15, "he2016resnet", "табл. 3: ошибка 22,85 %, 10 вырезок"),
    "densenet121": Reported(74.98, "huang2017densenet", "табл. 3: ошибка 25,02 %, 1 вырезка"),
    "densenet169": Reported(76.20, "huang2017densenet", "табл. 3: ошибка 23,80 %, 1 вырезка"),
    "densenet201": Reported(77.42, "huang2017densenet", "табл. 3: ошибка 22,58 %, 1 вырезка"),
}

#: torchvision's weights of the models that have them (squeezenet1_1 has no paper figure:
#: the SqueezeNet repository only says it matches 1.0's accuracy).
_TORCHVISION = {
    "squeezenet1_0": "SqueezeNet1_0_Weights.IMAGENET1K_V1",
    "squeezenet1_1": "SqueezeNet1_1_Weights.IMAGENET1K_V1",
    "shufflenet_v2_x1_0": "ShuffleNet_V2_X1_0_Weights.IMAGENET1K_V1",
    "vgg16": "VGG16_Weights.IMAGENET1K_V1",
    "resnet50": "ResNet50_Weights.IMAGENET1K_V1",
    "resnet101": "ResNet101_Weights.IMAGENET1K_V1",
    "densenet121": "DenseNet121_Weights.IMAGENET1K_V1",
    "densenet169": "DenseNet169_Weights.IMAGENET1K_V1",
    "densenet201": "DenseNet201_Weights.IMAGENET1K_V1",
}


def torchvision_top1(name: str) -> float | None:
    """torchvision's measured top-1 (%) of its weights for our model ``name`` (from the
    weights' metadata, no download), or ``None`` where torchvision has no such weights."""
    import torchvision

    if not isinstance(name, str):
        raise ValueError(f"name must be a registry name, got {type(name).__name__}")
    if name not in _TORCHVISION:
        return None
    weights = torchvision.models.get_weight(_TORCHVISION[name])
    return float(weights.meta["_metrics"]["ImageNet-1K"]["acc@1"])
