"""MobileNet v1, SqueezeNet, SqueezeNext, ShuffleNet v1/v2 against their references (timm,
torchvision, pytorchcv) and against the papers' tables."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lecture21 import pretrained
from lecture21.measure import count_parameters, macs
from lecture21.models import available, create, entry
from lecture21.models.mobilenet import DepthwiseSeparableConv, input_size
from lecture21.models.shufflenet import ChannelShuffle, ShuffleUnit
from lecture21.models.squeezenet import FireModule
from lecture21.models.squeezenext import SqueezeNextBlock, block_parameters

torch.set_num_threads(1)

MOBILE = ["mobilenet_v1", "squeezenet1_0", "squeezenet1_1", "sqnxt23", "shufflenet_v1",
          "shufflenet_v2_x1_0"]


def _calibrated(model: nn.Module, side: int) -> nn.Module:
    """Give the random reference real batch-norm statistics, so outputs are O(1)."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    with torch.no_grad():
        model.train()(torch.randn(4, 3, side, side))
    return model.eval()


@pytest.fixture
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv(pretrained.WEIGHTS_ENV, str(tmp_path / "weights"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))


# (our name, source, the reference's name, input side: pytorchcv's models end with a fixed 7x7
# average pooling, so they need 224x224)
CASES = [
    ("mobilenet_v1", "timm", "mobilenetv1_100", 64),
    ("squeezenet1_0", "torchvision", "squeezenet1_0", 64),
    ("squeezenet1_1", "torchvision", "squeezenet1_1", 64),
    ("sqnxt23", "pytorchcv", "sqnxt23_w1", 224),
    ("shufflenet_v1", "pytorchcv", "shufflenet_g3_w1", 224),
    ("shufflenet_v2_x1_0", "torchvision", "shufflenet_v2_x1_0", 64),
]


@pytest.mark.parametrize("name, source, reference_name, side", CASES)
def test_equals_reference_and_its_weights_file_loads(name, source, reference_name, side,
                                                     offline, tmp_path):
    assert entry(name).reference(source).name == reference_name
    torch.manual_seed(0)
    reference = _calibrated(pretrained.reference_model(name, source=source), side)
    x = torch.randn(2, 3, side, side)
    with torch.no_grad():
        expected = reference(x)
        ours = pretrained.from_reference(name, reference)
        torch.testing.assert_close(ours(x), expected, rtol=1e-4, atol=1e-4)
        assert count_parameters(ours) == count_parameters(reference)
        # A weights file saved from the reference loads through the public loader.
        torch.save(reference.state_dict(), tmp_path / "reference.pth")
        loaded, preprocessing = pretrained.load(name, tmp_path / "reference.pth", source)
        torch.testing.assert_close(loaded(x), expected, rtol=1e-4, atol=1e-4)
    assert preprocessing.input_size == (3, 224, 224)


def test_pytorchcv_weights_missing_offline_say_so(offline):
    with pytest.raises(pretrained.WeightsUnavailable):
        pretrained.load("sqnxt23")


def test_registered():
    assert set(MOBILE) <= set(available())


@pytest.mark.parametrize("name", MOBILE)
def test_cifar_variants_forward_and_backward(name):
    torch.manual_seed(0)
    model = create(name, "cifar", num_classes=7)
    assert count_parameters(model) < 1_000_000  # sized for a CPU
    logits = model(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 7)
    F.cross_entropy(logits, torch.tensor([0, 1])).backward()
    assert all(p.grad is not None for p in model.parameters())


def _meta(name: str, **options) -> nn.Module:
    with torch.device("meta"):
        return create(name, "imagenet", **options)


def _macs(name: str, side: int = 224, **options) -> float:
    return macs(create(name, "imagenet", **options), (1, 3, side, side))


# ---- the papers' tables ------------------------------------------------------------------------

def test_mobilenet_table_8_and_width_multiplier_table_6():
    """MobileNet paper: 1.0 MobileNet-224 4.2 M parameters, 569 M mult-adds (Table 8);
    alpha = 0.75 / 0.5 / 0.25: 2.6 / 1.3 / 0.5 M parameters, 325 / 149 / 41 M (Table 6)."""
    assert count_parameters(_meta("mobilenet_v1")) == pytest.approx(4.2e6, rel=0.01)
    assert _macs("mobilenet_v1") == pytest.approx(569e6, rel=0.01)
    for alpha, params, mult_adds in ((0.75, 2.6e6, 325e6), (0.5, 1.3e6, 149e6),
                                     (0.25, 0.5e6, 41e6)):
        count = count_parameters(_meta("mobilenet_v1", width=alpha))
        assert abs(count - params) <= 0.05e6  # within the rounding of the table's 0.1 M
        assert _macs("mobilenet_v1", width=alpha) == pytest.approx(mult_adds, rel=0.02)


def test_mobilenet_resolution_multiplier_table_7():
    """rho changes the input side (224, 192, 160, 128), not the parameters: 569 / 418 / 290 /
    186 M mult-adds (Table 7)."""
    for rho, mult_adds in ((1.0, 569e6), (192 / 224, 418e6), (160 / 224, 290e6),
                           (128 / 224, 186e6)):
        assert _macs("mobilenet_v1", input_size(rho)) == pytest.approx(mult_adds, rel=0.01)
    with pytest.raises(ValueError, match="rho"):
        input_size(1.5)


def test_depthwise_separable_cost_is_1_over_n_plus_1_over_k2():
    m, n, side = 64, 128, 14
    separable = macs(DepthwiseSeparableConv(m, n), (1, m, side, side))
    standard = macs(nn.Conv2d(m, n, 3, padding=1, bias=False), (1, m, side, side))
    assert separable / standard == pytest.approx(1 / n + 1 / 9)


def test_squeezenet_counts():
    # torchvision's figures for the authors' models (the paper: 1.2 M parameters, 4.8 MB).
    assert count_parameters(_meta("squeezenet1_0")) == 1_248_424
    assert count_parameters(_meta("squeezenet1_1")) == 1_235_496
    assert not any(isinstance(m, nn.Linear) for m in _meta("squeezenet1_0").modules())


def test_fire_module_concatenates_expand_1x1_and_3x3():
    fire = FireModule(96, 16, 64, 64).eval()
    x = torch.randn(1, 96, 9, 9)
    with torch.no_grad():
        s = fire.squeeze_activation(fire.squeeze(x))
        expected = torch.cat([F.relu(fire.expand1x1(s)), F.relu(fire.expand3x3(s))], 1)
        torch.testing.assert_close(fire(x), expected)
    assert fire.expand3x3.weight.shape == (64, 16, 3, 3)  # 3x3 filters see 16 maps, not 96


def test_squeezenext_table_2():
    """SqueezeNext paper, Table 2: 1.0-SqNxt-23 has 0.72 M parameters and 282 M MACs.
    Tolerance: parameters 1 % (0.724 M), MACs 3 % (276 M here: our count has only
    convolutions and the FC layer)."""
    assert count_parameters(_meta("sqnxt23")) == pytest.approx(0.72e6, rel=0.01)
    assert _macs("sqnxt23") == pytest.approx(282e6, rel=0.03)


def test_squeezenext_block_parameter_arithmetic():
    for c in (32, 64, 128):
        block = SqueezeNextBlock(c, c)
        weights = sum(m.weight.numel() for m in block.modules() if isinstance(m, nn.Conv2d))
        assert weights == block_parameters(c, "squeezenext")
        assert block.conv1x3.conv.kernel_size == (1, 3) and block.conv3x1.conv.kernel_size == (3, 1)
    # C^2/2 + C^2/8 + 3C^2/8 + 3C^2/4 + C^2/2 = 9C^2/4: four times fewer than one 3x3 conv.
    assert 4 * block_parameters(128, "squeezenext") == block_parameters(128, "plain")
    with pytest.raises(ValueError, match="design"):
        block_parameters(64, "resnet")


def test_shufflenet_v1_table_1():
    """ShuffleNet paper, Table 1: ShuffleNet 1x, g = 3: 240-480-960 maps, 137 MFLOPs
    (the paper's FLOPs are multiply-adds). Tolerance 1 % (137.5 M here). The paper gives no
    parameter count; pytorchcv's model has the same 1.87 M (test_equals_reference...)."""
    model = create("shufflenet_v1", "imagenet")
    assert [stage[-1].bn3.num_features
            for stage in (model.stage2, model.stage3, model.stage4)] == [240, 480, 960]
    assert macs(model, (1, 3, 224, 224)) == pytest.approx(137e6, rel=0.01)


def test_shufflenet_v2_table_5():
    """ShuffleNet v2 paper, Table 5: 1x has 146 MFLOPs (multiply-adds) and 2.3 M parameters."""
    assert count_parameters(_meta("shufflenet_v2_x1_0")) == pytest.approx(2.3e6, rel=0.01)
    assert _macs("shufflenet_v2_x1_0") == pytest.approx(146e6, rel=0.01)


def test_channel_shuffle_is_the_transpose_of_groups():
    x = torch.arange(6.0).view(1, 6, 1, 1)  # groups of 2: (0 1) (2 3) (4 5)
    assert ChannelShuffle(3)(x).flatten().tolist() == [0, 2, 4, 1, 3, 5]
    with pytest.raises(ValueError, match="groups"):
        ChannelShuffle(4)(x)


def test_shuffle_lets_information_cross_groups():
    """Two grouped units: without the shuffle, output group 0 depends on input group 0 only."""
    torch.manual_seed(0)
    for shuffle, crosses in ((False, False), (True, True)):
        units = nn.Sequential(ShuffleUnit(24, 24, 3, shuffle=shuffle),
                              ShuffleUnit(24, 24, 3, shuffle=shuffle)).eval()
        x = torch.randn(1, 24, 6, 6, requires_grad=True)
        units(x)[:, :8].sum().backward()  # output group 0
        reached = x.grad.abs().sum((0, 2, 3)).view(3, 8).sum(1) > 0
        assert reached[1:].any().item() is crosses


@pytest.mark.parametrize(
    "name, options, match",
    [("mobilenet_v1", {"activation": "gelu"}, "activation"),
     ("mobilenet_v1", {"width": 0}, "width"),
     ("shufflenet_v1", {"groups": 5}, "groups"),
     ("shufflenet_v2_x1_0", {"width": 0.7}, "width"),
     ("squeezenet1_0", {"dropout": 1.0}, "dropout"),
     ("sqnxt23", {"width": -1.0}, "width")],
)
def test_bad_options(name, options, match):
    with pytest.raises(ValueError, match=match):
        create(name, **options)


def test_figures_draw_from_the_model():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lecture21.plots import mobile

    assert set(mobile.FIGURES) == {"squeezenet-fire-module", "squeezenext-block",
                                   "shufflenet-unit"}
    for draw in mobile.FIGURES.values():
        fig = draw()
        assert fig.axes
        plt.close(fig)
    fig, ax = plt.subplots()
    mobile.channel_shuffle(ax, groups=3, per_group=2)  # the model's own permutation
    after = [t.get_text() for t in ax.texts if t.get_text().isdigit()][6:]
    assert after == ["0", "2", "4", "1", "3", "5"]
    plt.close(fig)


def test_group_reach_of_grouped_and_shuffled_units():
    from lecture21.models.shufflenet import group_reach

    grouped = nn.Conv2d(6, 6, 1, groups=3)
    assert torch.equal(group_reach(grouped, 6, 3) > 0, torch.eye(3, dtype=torch.bool))
    assert (group_reach(nn.Conv2d(6, 6, 1), 6, 3) > 0).all()
    units = nn.Sequential(ShuffleUnit(24, 24, 3), ShuffleUnit(24, 24, 3)).train()
    assert (group_reach(units, 24, 3) > 0).all() and units.training  # mode restored
    with pytest.raises(ValueError, match="groups"):
        group_reach(grouped, 6, 4)
