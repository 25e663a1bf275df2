"""The reference pattern of CONTRIBUTING.md, followed literally by a toy family in this one file.

A model file declares the implementation its model equals (here torchvision's SqueezeNet 1.1,
Iandola et al. 2016, small enough for a test) next to its builder, with the function that reads a
reference instance into our options and the rename of the reference's state-dict keys into ours.
Nothing else in the package is touched: the public API then builds the reference, fills our
model from it, and loads "official" weights from the weights folder -- here a file this test
writes itself, with every network call forbidden.
"""

from __future__ import annotations

import socket
import urllib.request
from collections import OrderedDict

import pytest
import torch
from torch import nn

from lecture21 import pretrained
from lecture21.models import create, entry
from lecture21.models.registry import Reference, register

# ---- the toy family: what a file src/lecture21/models/<family>.py holds ----------------------


class Fire(nn.Module):
    """Squeeze (1x1) then expand (1x1 and 3x3 side by side, concatenated)."""

    def __init__(self, in_channels: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(in_channels, squeeze, 1)
        self.expand1x1 = nn.Conv2d(squeeze, expand, 1)
        self.expand3x3 = nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.squeeze(x))
        return torch.cat([torch.relu(self.expand1x1(x)), torch.relu(self.expand3x3(x))], 1)


#: (squeeze, expand) of the Fire modules of SqueezeNet 1.1, "M" for a 3x3/2 max pooling.
FIRES = ((16, 64), (16, 64), "M", (32, 128), (32, 128), "M", (48, 192), (48, 192),
         (64, 256), (64, 256))


class ToySqueezeNet(nn.Module):
    """Stem convolution, Fire modules, a convolutional classifier averaged over positions."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            stem=nn.Conv2d(3, 64, 3, stride=2), stem_relu=nn.ReLU(inplace=True),
            pool1=nn.MaxPool2d(3, 2, ceil_mode=True),
        )
        channels = 64
        for index, item in enumerate(FIRES, start=2):
            if item == "M":
                layers[f"pool{index}"] = nn.MaxPool2d(3, 2, ceil_mode=True)
                continue
            layers[f"fire{index}"] = Fire(channels, *item)
            channels = 2 * item[1]
        self.features = nn.Sequential(layers)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.classifier(self.dropout(self.features(x))))
        return x.mean((2, 3))


def options_from_torchvision(reference: nn.Module) -> dict:
    """Read the instance: its dropout (the number of classes is read by the package)."""
    return {"dropout": reference.classifier[0].p}


#: torchvision's keys "features.<i>.<name>" and "classifier.1" into ours.
_FEATURE_NAMES = {0: "stem", **{i: f"fire{n}" for i, n in
                                ((3, 2), (4, 3), (6, 5), (7, 6), (9, 8), (10, 9), (11, 10),
                                 (12, 11))}}
RENAME = (
    *((rf"^features\.{i}\.", f"features.{name}.") for i, name in _FEATURE_NAMES.items()),
    (r"^classifier\.1\.", "classifier."),
)


@register("toy_squeezenet", variants=("imagenet",), family="toy", references=(
    Reference("torchvision", "squeezenet1_1", "SqueezeNet1_1_Weights.IMAGENET1K_V1",
              options=options_from_torchvision, rename=RENAME),
))
def toy_squeezenet(
    variant: str = "imagenet", num_classes: int = 1000, dropout: float = 0.5
) -> ToySqueezeNet:
    """SqueezeNet 1.1 (the toy of this test)."""
    return ToySqueezeNet(num_classes, dropout)


# ---- its test: what tests/test_<family>.py holds -----------------------------------------


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv(pretrained.WEIGHTS_ENV, str(tmp_path))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def refuse(*args, **kwargs):
        raise AssertionError(f"a network call was attempted: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def _random_reference() -> nn.Module:
    torch.manual_seed(0)
    return pretrained.reference_model("toy_squeezenet")


def test_the_declaration_is_in_the_registry():
    (reference,) = entry("toy_squeezenet").references
    assert (reference.source, reference.name) == ("torchvision", "squeezenet1_1")
    assert entry("toy_squeezenet").reference() is reference


def test_ours_equals_the_reference():
    reference = _random_reference()
    ours = pretrained.from_reference("toy_squeezenet", reference)
    assert isinstance(ours, ToySqueezeNet) and not ours.training
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-6)


def test_official_weights_load_from_the_weights_folder_offline(no_network, tmp_path):
    reference = _random_reference()
    torch.save(reference.state_dict(), tmp_path / "toy_squeezenet.pth")
    ours, preprocessing = pretrained.load("toy_squeezenet")
    # torchvision's own evaluation transform of these weights, read from the enum.
    assert preprocessing.input_size == (3, 224, 224) and preprocessing.crop_pct == 224 / 256
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-6)


def test_missing_weights_say_so_in_one_line_without_a_network_call(no_network):
    with pytest.raises(pretrained.WeightsUnavailable) as info:
        pretrained.load("toy_squeezenet")
    assert "\n" not in str(info.value) and "make weights" in str(info.value)


def test_a_mismatch_is_named():
    reference = _random_reference()
    reference.classifier[1] = nn.Conv2d(512, 10, 3)  # not ours any more
    with pytest.raises(ValueError, match=r"classifier.weight has shape \(10, 512, 3, 3\)"):
        pretrained.from_reference("toy_squeezenet", reference)


def test_the_toy_is_created_like_any_model():
    model = create("toy_squeezenet", "imagenet", num_classes=10)
    assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 10)
