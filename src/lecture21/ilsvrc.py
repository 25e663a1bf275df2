"""ImageNet Large Scale Visual Recognition Challenge: the winners' top-5 errors, and top-k
accuracy. Slides "ImageNet" and "ILSVRC".

Every figure is taken from the paper named beside it (``cite`` is the key in
``book/references.bib``); ``note`` says what the figure includes, because the lecture's
numbers mix single networks, ensembles and entries trained on extra data.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["HUMAN_TOP5_ERROR", "RESULTS", "Result", "topk_accuracy", "winners"]


@dataclass(frozen=True)
class Result:
    year: int
    team: str
    model: str
    top5_error: float  # percent, ILSVRC classification test set unless noted
    cite: str
    note: str = ""
    winner: bool = True


RESULTS: tuple[Result, ...] = (
    Result(2010, "NEC-UIUC", "SIFT/LBP + SVM", 28.2, "russakovsky2015imagenet",
           "признаки вручную, линейный SVM"),
    Result(2011, "XRCE", "Fisher vectors + SVM", 25.8, "russakovsky2015imagenet",
           "признаки вручную"),
    Result(2012, "SuperVision", "AlexNet", 15.3, "krizhevsky2012imagenet",
           "ансамбль 7 сетей, 2 из них предобучены на ImageNet Fall 2011 (доп. данные); "
           "без доп. данных 5 сетей: 16.4 %"),
    Result(2012, "SuperVision", "AlexNet (5 сетей, без доп. данных)", 16.4,
           "krizhevsky2012imagenet", "ансамбль 5 сетей", winner=False),
    Result(2013, "Clarifai", "ZFNet", 11.7, "russakovsky2015imagenet",
           "ансамбль; сама статья ZFNet: 14.8 % (6 сетей, ILSVRC-2012)"),
    Result(2014, "GoogLeNet", "GoogLeNet", 6.67, "szegedy2015going",
           "ансамбль 7 сетей, 144 кропа; одна сеть, 1 кроп: 10.07 % (val)"),
    Result(2014, "VGG", "VGG-16/19", 7.3, "simonyan2014vgg",
           "2-е место; ансамбль 7 сетей; после соревнования 2 сети: 6.8 %, одна: 7.0 %",
           winner=False),
    Result(2015, "MSRA", "ResNet-152", 3.57, "he2016resnet", "ансамбль 6 сетей"),
)

#: Top-5 error of a trained human annotator (A. Karpathy) on 1500 test images.
HUMAN_TOP5_ERROR = 5.1  # russakovsky2015imagenet, section 6.4


def winners() -> list[Result]:
    """The winning entry of each year, in order."""
    return [r for r in RESULTS if r.winner]


def topk_accuracy(logits: torch.Tensor, labels: torch.Tensor, k: int = 5) -> float:
    """Share of samples whose true class is among the ``k`` highest scores (ILSVRC's top-5
    counts a guess right when any of the 5 is the label)."""
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2:
        got = getattr(logits, "shape", type(logits).__name__)
        raise ValueError(f"logits must be a (N, classes) tensor, got {got}")
    labels = torch.as_tensor(labels)
    if labels.shape != (logits.shape[0],):
        raise ValueError(f"labels must have shape ({logits.shape[0]},), got {tuple(labels.shape)}")
    if not isinstance(k, int) or not 1 <= k <= logits.shape[1]:
        raise ValueError(f"k must be an int in [1, {logits.shape[1]}], got {k!r}")
    top = logits.topk(k, dim=1).indices
    return (top == labels.view(-1, 1).to(top.device)).any(1).float().mean().item()
