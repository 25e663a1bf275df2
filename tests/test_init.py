"""He et al. (2015) initialisation keeps the signal through the plain (no batch norm) nets."""

import pytest
import torch
from torch import nn

from lecture21.models import create
from lecture21.models.init import initialise, kaiming_init

PLAIN = [("alexnet", {"width": 0.25}), ("zfnet", {"width": 0.25}), ("simple_cnn", {})]


@pytest.mark.parametrize(("name", "options"), PLAIN)
def test_kaiming_keeps_the_signal_where_the_default_loses_it(name, options):
    x = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    second_moment = {}
    for init in ("default", "kaiming"):
        torch.manual_seed(0)
        model = create(name, init=init, **options).eval()
        with torch.no_grad():
            second_moment[init] = model.features(x).pow(2).mean().item()
    assert second_moment["default"] < 0.01  # the signal fades: the loss would stay at ln 10
    assert 0.1 < second_moment["kaiming"] < 10


def test_kaiming_init_variances_and_small_output_layer():
    torch.manual_seed(0)
    model = kaiming_init(nn.Sequential(nn.Conv2d(64, 128, 3), nn.Flatten(),
                                       nn.Linear(4096, 1024), nn.Linear(1024, 10)))
    conv, hidden, output = model[0], model[2], model[3]
    assert conv.weight.std().item() == pytest.approx((2 / (64 * 9)) ** 0.5, rel=0.05)
    assert hidden.weight.std().item() == pytest.approx((2 / 4096) ** 0.5, rel=0.05)
    assert output.weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert all(m.bias.abs().max() == 0 for m in (conv, hidden, output))


def test_unknown_init_is_a_value_error():
    with pytest.raises(ValueError, match="init"):
        initialise(nn.Linear(2, 2), "xavier")
    with pytest.raises(ValueError, match="init"):
        create("alexnet", init="orthogonal")
