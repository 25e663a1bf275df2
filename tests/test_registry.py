import pytest
import torch

from lecture21 import models


def test_simple_cnn_is_registered_and_runs():
    assert "simple_cnn" in models.available()
    model = models.create("simple_cnn")
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert models.create("simple_cnn", num_classes=4)(torch.zeros(1, 3, 32, 32)).shape == (1, 4)


def test_options_reach_the_builder():
    model = models.create("simple_cnn", dropout=0.0, hidden=64)
    assert model.classifier[1].out_features == 64
    assert model.classifier[3].p == 0.0


def test_available_by_family():
    assert models.available("simple_cnn") == ["simple_cnn"]
    assert models.available("no-such-family") == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "resnet1000"}, "unknown model name 'resnet1000'; available: .*simple_cnn"),
        ({"name": "simple_cnn", "variant": "mnist"}, "has no variant 'mnist'"),
        ({"name": "simple_cnn", "depth": 3}, "has no option\\(s\\) depth; its options: widths"),
        ({"name": "simple_cnn", "num_classes": 0}, "num_classes must be a positive int"),
        ({"name": "simple_cnn", "dropout": 1.5}, "dropout must be in \\[0, 1\\)"),
        ({"name": "simple_cnn", "widths": (0,)}, "widths must be positive ints, got \\(0,\\)"),
        ({"name": "simple_cnn", "widths": (8, -4)}, "widths must be positive ints"),
        ({"name": "simple_cnn", "hidden": -1}, "hidden must be a positive int, got -1"),
        ({"name": "simple_cnn", "widths": (4,) * 6}, "image_size must be an int >= 64"),
        ({"name": "alexnet", "widths": (0, 8, 8, 8, 8)}, "widths must be positive ints"),
        ({"name": "alexnet", "hidden": -1}, "hidden must be a positive int, got -1"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.create(**kwargs)


def test_registering_a_name_twice_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        models.register("simple_cnn")(lambda variant, num_classes: None)
