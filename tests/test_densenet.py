"""DenseNet against torchvision, timm and the paper: equivalence, concatenation, counts."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lecture21 import pretrained
from lecture21.measure import count_parameters
from lecture21.models import available, create, entry
from lecture21.models.densenet import (
    LEGACY_KEYS,
    DenseBlock,
    DenseLayer,
    feature_reuse,
    trace_block,
)

torch.set_num_threads(1)


def _calibrated(model: nn.Module, size: int) -> nn.Module:
    """Give the random reference real batch-norm statistics, so outputs are O(1)."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    with torch.no_grad():
        model.train()(torch.randn(4, 3, size, size))
    return model.eval()


def test_registered():
    assert {"densenet121", "densenet169", "densenet201", "densenet_bc"} <= set(available())


@pytest.fixture
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv(pretrained.WEIGHTS_ENV, str(tmp_path / "weights"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))


def _legacy(state: dict) -> dict:
    """The keys of torchvision's DenseNet files: ``denselayer1.norm.1.weight``."""
    return {re.sub(r"(denselayer\d+\.(?:norm|conv))([12])\.", r"\1.\2.", k): v
            for k, v in state.items()}


@pytest.mark.parametrize(
    "source, name",
    [("torchvision", "densenet121"), ("torchvision", "densenet169"),
     ("torchvision", "densenet201"), ("timm", "densenet121")],
)
def test_equals_reference_and_its_weights_file_loads(source, name, offline, tmp_path):
    torch.manual_seed(0)
    reference = _calibrated(pretrained.reference_model(name, source=source), 32)
    x = torch.randn(2, 3, 32, 32)  # torchvision's minimum size for DenseNet: 29
    with torch.no_grad():
        expected = reference(x)
        ours = pretrained.from_reference(name, reference)
        torch.testing.assert_close(ours(x), expected, rtol=1e-4, atol=1e-4)
        # torchvision's files keep the legacy names; the declared rename reads them.
        state = reference.state_dict()
        torch.save(_legacy(state) if source == "torchvision" else state, tmp_path / "w.pth")
        loaded, _ = pretrained.load(name, tmp_path / "w.pth", source)
        torch.testing.assert_close(loaded(x), expected, rtol=1e-4, atol=1e-4)


def test_parameter_counts():
    # torchvision's figures for the ported LuaTorch weights.
    expected = {"densenet121": 7_978_856, "densenet169": 14_149_480, "densenet201": 20_013_928}
    for name, count in expected.items():
        with torch.device("meta"):
            assert count_parameters(create(name, "imagenet")) == count


def test_legacy_keys_of_torchvision_weights_files_are_renamed():
    """torchvision's files say ``denselayer1.norm.1.weight``; LEGACY_KEYS gives ours."""
    (declared, _) = entry("densenet121").references
    assert declared.rename == LEGACY_KEYS
    ours = create("densenet121", "imagenet")
    legacy = _legacy(ours.state_dict())
    assert "features.denseblock1.denselayer1.norm.1.weight" in legacy
    for pattern, replacement in LEGACY_KEYS:
        legacy = {re.sub(pattern, replacement, k): v for k, v in legacy.items()}
    assert legacy.keys() == ours.state_dict().keys()


def test_each_layer_receives_exactly_all_earlier_maps():
    """x_i = H_i([x_0, ..., x_{i-1}]): seen by hooks, not read from the code."""
    torch.manual_seed(0)
    block = DenseBlock(4, in_channels=6, growth_rate=3, bn_size=2).eval()
    inputs, outputs = [], []

    def record(module, args, out):
        inputs.append(list(args[0]))  # the list of tensors the layer concatenates
        outputs.append(out)

    hooks = [layer.register_forward_hook(record) for layer in block.values()]
    try:
        x = torch.randn(2, 6, 5, 5)
        with torch.no_grad():
            y = block(x)
    finally:
        for h in hooks:
            h.remove()
    for i, received in enumerate(inputs):
        assert len(received) == i + 1
        assert received[0] is x and all(a is b for a, b in zip(received[1:], outputs[:i]))
    assert torch.equal(y, torch.cat([x, *outputs], 1))
    assert y.shape[1] == 6 + 4 * 3 == block.out_channels


def test_dense_layer_is_bn_relu_conv_twice():
    layer = DenseLayer(10, growth_rate=4, bn_size=4)
    assert layer.conv1.weight.shape == (16, 10, 1, 1)
    assert layer.conv2.weight.shape == (4, 16, 3, 3)
    x = torch.randn(1, 10, 5, 5)
    assert torch.equal(layer.eval()(x), layer([x[:, :6], x[:, 6:]]))  # a list is concatenated


def test_densenet_bc_cifar():
    # The paper's DenseNet-BC (L=100, k=12): "0.8M" parameters (Table 2); 0.77 M lies within
    # the rounding interval [0.75, 0.85) of that figure.
    with torch.device("meta"):
        assert 750_000 <= count_parameters(create("densenet_bc", depth=100)) < 850_000
    assert count_parameters(create("densenet_bc")) == 176_122  # L=40, k=12: the CPU default
    model = create("densenet_bc", num_classes=7)
    logits = model(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 7)
    F.cross_entropy(logits, torch.tensor([0, 1])).backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("options", [{"depth": 41}, {"depth": 4}, {"growth_rate": 0}])
def test_bad_options(options):
    with pytest.raises(ValueError, match=next(iter(options))):
        create("densenet_bc", **options)


def test_imagenet_only_for_the_big_ones():
    with pytest.raises(ValueError, match="variant"):
        create("densenet121", "cifar")


def test_figures_draw_from_the_model():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lecture21.plots import densenet

    assert set(densenet.FIGURES) == {"densenet-dense-block", "densenet-three-blocks"}
    for draw in densenet.FIGURES.values():
        fig = draw()
        assert fig.axes
        plt.close(fig)
    fig = densenet.dense_block()  # the concatenation's maps are read from the block
    assert any("72 = 24 + 4·12" in t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)


def test_trace_block_records_what_each_layer_computes_on():
    torch.manual_seed(0)
    block = DenseBlock(3, in_channels=4, growth_rate=2, bn_size=2).eval()
    x = torch.randn(1, 4, 5, 5)
    trace = trace_block(block, x)
    assert [r.shape[1] for r in trace.received] == [4, 6, 8]
    for i, received in enumerate(trace.received):
        assert torch.equal(received, torch.cat([x, *trace.outputs[:i]], 1))
    assert all(not layer._forward_hooks and not layer.norm1._forward_pre_hooks
               for layer in block.values())  # hooks removed
    with pytest.raises(ValueError, match="DenseBlock"):
        trace_block(nn.Identity(), x)


def test_feature_reuse_by_hand():
    """Two layers on 2 input maps, k = 1: layer 2's 1x1 conv reads 2 + 1 maps; the mean |w|
    per source is computed by hand, and the transition row reads all three sources."""
    block = DenseBlock(2, in_channels=2, growth_rate=1, bn_size=2)
    transition = nn.Conv2d(4, 2, 1, bias=False)
    with torch.no_grad():
        block["denselayer1"].conv1.weight.copy_(torch.tensor([[1.0, -3.0], [1.0, 1.0]])
                                                .view(2, 2, 1, 1))
        block["denselayer2"].conv1.weight.copy_(torch.tensor([[2.0, 0.0, 5.0], [0.0, 2.0, -1.0]])
                                                .view(2, 3, 1, 1))
        transition.weight.fill_(0.5)
        transition.weight[:, 3] = 2.0
    heat = feature_reuse(block, transition)
    nan = float("nan")
    expected = torch.tensor([[1.5, nan, nan], [1.0, 3.0, nan], [0.5, 0.5, 2.0]])
    torch.testing.assert_close(heat, expected, equal_nan=True)
