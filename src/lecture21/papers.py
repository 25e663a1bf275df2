"""What the lecture's slides say beside what their primary sources say: the figures the claims
tables of notebooks 01, 04 and 05 check. Beside :data:`lecture21.ilsvrc.RESULTS`.

Each :class:`Claim` keeps the slide's words apart from the source's (``cite`` is the key in
``book/references.bib``, ``where`` the section or table), because the lecture and its sources
disagree often enough to need both columns («в лекции» / «источник») of
:func:`lecture21.measure.claims_table`. ``value`` is the source's number where a measurement is
compared with it. Counts of reference implementations are not typed here: they are computed
from the reference modules on the meta device (:func:`torchvision_parameters`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["CLAIMS", "Claim", "VGG_TABLE2_PARAMS_M", "claim", "torchvision_parameters"]


@dataclass(frozen=True)
class Claim:
    """One statement of the lecture and what its primary source says about it."""

    lecture: str  # what the slide says ("" where the slide says nothing)
    source: str  # what the source says; quotation marks mean verbatim
    cite: str
    where: str
    value: float | None = None  # the source's number, where a measurement is compared with it


#: Simonyan & Zisserman (2015), Table 2: parameters in millions of configurations A, B, D, E.
VGG_TABLE2_PARAMS_M = {"vgg11": 133, "vgg13": 133, "vgg16": 138, "vgg19": 144}

CLAIMS: dict[str, Claim] = {
    # ImageNet and ILSVRC (notebook 04)
    "imagenet_images": Claim(
        "14 млн изображений", "«14,197,122 images, 21841 synsets indexed»", "imagenetsite",
        "главная страница", 14_197_122),
    "ilsvrc_test_images": Claim(
        "100 000 тестовых изображений",
        "150 000 в 2010 г., 100 000 в 2012–2014 гг. (1000 классов, 50 000 проверочных)",
        "russakovsky2015imagenet", "табл. 2", 150_000),
    "alexnet_twice_better": Claim(
        "AlexNet в 2 раза лучше второго места", "15.3 % против 26.2 % top-5 ошибки",
        "krizhevsky2012imagenet", "аннотация", 26.2 / 15.3),
    # LeNet (notebook 04)
    "lenet_first": Claim(
        "первая свёрточная сеть, 1998", "LeNet-1 обучена обратным распространением в 1989 г.",
        "lecun1989backprop", "вся статья", 1989),
    "lenet_layers": Claim(
        "5 слоёв", "«LeNet-5 comprises seven layers, not counting the input»",
        "lecun1998gradient", "разд. II.B", 7),
    "lenet_params": Claim(
        "≈ 10 тыс. параметров", "«only 60,000 trainable free parameters because of the weight "
        "sharing»", "lecun1998gradient", "разд. II.B", 60_000),
    # AlexNet and ZFNet (notebook 04)
    "alexnet_params": Claim(
        "60 млн параметров", "«60 million parameters and 650,000 neurons»",
        "krizhevsky2012imagenet", "аннотация", 60e6),
    "alexnet_neurons": Claim(
        "650 тыс. нейронов", "«60 million parameters and 650,000 neurons»",
        "krizhevsky2012imagenet", "аннотация", 650_000),
    "zfnet_top5": Claim(
        "ZFNet лучше AlexNet", "14.8 % top-5 (6 сетей, только данные ILSVRC-2012) против "
        "16.4 % у AlexNet (5 сетей, те же данные)", "zeiler2014visualizing", "табл. 2", 14.8),
    "zfnet_more_filters": Claim(
        "больше фильтров, чем у AlexNet", "только вариант табл. 2 (b): 512, 1024, 512 карт в "
        "слоях 3–5; основная модель — ширины AlexNet, первый слой 7×7 с шагом 2",
        "zeiler2014visualizing", "табл. 2, разд. 5"),
    # VGG and GoogLeNet (notebook 05)
    "vgg_not_winner": Claim(
        "VGG не победитель ILSVRC-2014", "1-е место по локализации и 2-е по классификации",
        "simonyan2014vgg", "аннотация"),
    "googlenet_layers": Claim(
        "22 слоя", "«22 layers deep when counting only layers with parameters»",
        "szegedy2015going", "разд. 5", 22),
    "googlenet_macs": Claim(
        "1.5 млрд умножений-сложений", "«a computational budget of 1.5 billion multiply-adds "
        "at inference time»", "szegedy2015going", "разд. 1", 1.5e9),
    "googlenet_params": Claim(
        "", "≈ 6.8 млн: сумма столбца «params» табл. 1", "szegedy2015going", "табл. 1", 6.8e6),
    "googlenet_vs_alexnet": Claim(
        "в 12 раз меньше параметров, чем у AlexNet", "«12× fewer parameters than the winning "
        "architecture of Krizhevsky et al»", "szegedy2015going", "разд. 1", 12),
    "googlenet_stem": Claim(
        "", "ствол: 224 → 112 → 56 → 28, понижение в 8 раз до блока 3a", "szegedy2015going",
        "табл. 1", 8),
    "bottleneck_saving": Claim(
        "свёртки 1×1 экономят 30–40 % вычислений", "сети с блоками Inception «2−3× faster "
        "than similarly performing networks with non-Inception architecture»",
        "szegedy2015going", "разд. 4"),
    "inception_v3_aux": Claim(
        "вспомогательные классификаторы заменила батч-нормализация",
        "Inception-v3 оставляет один вспомогательный классификатор (с BN) как регуляризатор",
        "szegedy2016rethinking", "разд. 4"),
    "inception_v4_top5": Claim(
        "Inception-v4: 3 % ошибки", "3.08 % top-5 на тесте: ансамбль трёх Inception-ResNet-v2 "
        "и одной Inception-v4", "szegedy2017inceptionv4", "аннотация", 3.08),
}


def claim(key: str) -> Claim:
    """The claim named ``key`` (a clear error for a name that is not in :data:`CLAIMS`)."""
    if key not in CLAIMS:
        raise ValueError(f"key must be one of {sorted(CLAIMS)}, got {key!r}")
    return CLAIMS[key]


def torchvision_parameters(name: str, **options) -> int:
    """Parameters of torchvision's ``name`` (e.g. ``"vgg16"``), counted on the meta device:
    the reference's own count, computed rather than typed, in a fraction of a second."""
    import torchvision

    builder = getattr(torchvision.models, name, None)
    if not callable(builder):
        raise ValueError(f"name must be a torchvision.models builder, got {name!r}")
    with torch.device("meta"):
        model = builder(weights=None, **options)
    return sum(p.numel() for p in model.parameters())
