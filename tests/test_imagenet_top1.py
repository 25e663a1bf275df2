"""The ImageNet figures notebooks 08 and 09 cite: paper keys exist, torchvision's are read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lecture21 import imagenet_top1
from lecture21.models import available

BIB = Path(__file__).resolve().parents[1] / "book" / "references.bib"


def test_every_paper_figure_names_a_model_and_a_bibliography_entry():
    keys = set(re.findall(r"^@\w+\{([^,]+),", BIB.read_text(encoding="utf-8"), re.M))
    for name, reported in imagenet_top1.PAPERS.items():
        assert name in available(), name
        assert reported.source in keys, reported.source
        assert 50 < reported.top1 < 80 and reported.where


def test_torchvision_figures_come_from_its_weights_metadata():
    # torchvision's documentation tables: ResNet-50 V1 76.13, DenseNet-121 74.434.
    assert imagenet_top1.torchvision_top1("resnet50") == 76.13
    assert imagenet_top1.torchvision_top1("densenet121") == 74.434
    assert imagenet_top1.torchvision_top1("mobilenet_v1") is None
    with pytest.raises(ValueError, match="name"):
        imagenet_top1.torchvision_top1(50)
