"""Depth as the papers count it, checked on torchvision's and pytorchcv's implementations (not
written here) and against the papers' own figures."""

import pytest
import torch
import torchvision
from torch import nn

from lecture21 import ilsvrc, plots, weight_depth


@pytest.mark.parametrize("builder, options, paper", [
    ("alexnet", {}, 8),  # "eight learned layers"
    ("vgg19", {}, 19),  # configuration E: 19 weight layers
    ("googlenet", {"aux_logits": False, "init_weights": False}, 22),  # "22 layers deep"
    ("resnet152", {}, 152),
])
def test_torchvision_networks_have_the_papers_depth(builder, options, paper):
    with torch.device("meta"):
        model = getattr(torchvision.models, builder)(**options)
    assert weight_depth.weight_layer_depth(model) == paper


def test_pytorchcv_zfnet_has_eight_layers():
    model_provider = pytest.importorskip("pytorchcv.model_provider")
    with torch.device("meta"):
        model = model_provider.get_model("zfnet", pretrained=False)
    assert weight_depth.weight_layer_depth(model) == 8


def test_parallel_branches_count_once_and_sequence_adds():
    class TwoBranches(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Sequential(nn.Conv2d(1, 1, 1), nn.ReLU(), nn.Conv2d(1, 1, 1))
            self.b = nn.Conv2d(1, 1, 1)
            self.head = nn.Linear(1, 1)

        def forward(self, x):
            return self.head((self.a(x) + self.b(x)).mean((2, 3)))

    assert weight_depth.weight_layer_depth(TwoBranches()) == 3


def test_depth_by_year_uses_our_models():
    rows = {r.model: r for r in weight_depth.depth_by_year()}
    assert {m: rows[m].depth for m in weight_depth.WINNER_MODELS} == {
        "AlexNet": 8, "ZFNet": 8, "GoogLeNet": 22, "VGG-16/19": 19, "ResNet-152": 152}
    assert rows["SIFT/LBP + SVM"].depth is None
    assert [r.year for r in rows.values()] == sorted(r.year for r in rows.values())
    assert {r.top5_error for r in rows.values()} <= {r.top5_error for r in ilsvrc.RESULTS}
    figure = plots.depth_and_error(list(rows.values()), human=ilsvrc.HUMAN_TOP5_ERROR)
    assert len(figure.axes) == 2


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="model must be a torch.nn.Module"):
        weight_depth.weight_layer_depth("alexnet")
    with pytest.raises(ValueError, match="rows must hold"):
        plots.depth_and_error([])
