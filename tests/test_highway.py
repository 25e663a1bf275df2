"""The convolutional highway network: the gate equation, its initial bias, plain20's layout."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lecture21.measure import count_parameters
from lecture21.models import create
from lecture21.models.highway import HighwayBlock

torch.set_num_threads(1)


def test_block_computes_the_highway_equation():
    torch.manual_seed(0)
    block = HighwayBlock(8, 8).eval()
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        gate = torch.sigmoid(block.gate(x))
        expected = gate * block.transform(x) + (1 - gate) * x
        torch.testing.assert_close(block(x), expected)
        # a gate shut hard carries the input unchanged; open hard, it is the plain layer
        nn.init.constant_(block.gate.bias, -50.0)
        torch.testing.assert_close(block(x), x)
        nn.init.constant_(block.gate.bias, 50.0)
        torch.testing.assert_close(block(x), block.transform(x))


def test_gate_bias_starts_negative_so_the_network_starts_carrying():
    model = create("highway20")
    gates = [m.gate for m in model.modules() if isinstance(m, HighwayBlock)]
    assert len(gates) == 9 and all(bool((g.bias == -2.0).all()) for g in gates)
    x = torch.relu(torch.randn(4, 16, 32, 32))
    with torch.no_grad():
        mean_gate = model.layer1[0].transform_gate(x).mean()
    assert mean_gate < 0.3  # sigmoid(-2) = 0.12, spread by the random gate weights
    assert create("highway20", gate_bias=-1.0).layer1[0].gate.bias[0] == -1.0


def test_same_depth_and_widths_as_plain20():
    with torch.device("meta"):
        highway, plain = create("highway20"), create("plain20")
    ours = [(n, m.weight.shape) for n, m in highway.named_modules()
            if isinstance(m, nn.Conv2d) and not n.endswith("gate")]
    theirs = [(n, m.weight.shape) for n, m in plain.named_modules() if isinstance(m, nn.Conv2d)]
    assert ours == theirs  # the same 19 convolutions, by name and shape, + fc = 20 layers
    gates = count_parameters(highway) - count_parameters(plain)
    pairs = [(16, 16)] * 3 + [(16, 32)] + [(32, 32)] * 2 + [(32, 64)] + [(64, 64)] * 2
    assert gates == sum(cin * cout * 9 + cout for cin, cout in pairs)  # a 3x3 gate per block
    model = create("highway56").eval()
    assert len([m for m in model.modules() if isinstance(m, HighwayBlock)]) == 27
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_bad_options():
    with pytest.raises(ValueError, match="width"):
        create("highway20", width=0)
