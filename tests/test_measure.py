"""Measurements: parameter counts equal to the references and near the papers' figures, MACs
by hand, latency and activation memory on small models."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lecture21 import measure
from lecture21.models import create

#: Parameter counts of the reference implementations (torchvision's published ``num_params``).
TORCHVISION_PARAMS = {
    "vgg11": 132_863_336,
    "vgg13": 133_047_848,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
}

#: The papers' own figures and the tolerance within which our paper configurations must be.
PAPER_PARAMS = {
    # LeNet-5, section II.B: "60,000 trainable parameters".
    "lenet5": (60_000, 0.0),
    # AlexNet, section 1 and abstract: "60 million parameters".
    "alexnet": (60e6, 0.02),
    # VGG, Table 2: 133 (A), 133 (B), 138 (D), 144 (E) million.
    "vgg11": (133e6, 0.005),
    "vgg13": (133e6, 0.005),
    "vgg16": (138e6, 0.005),
    "vgg19": (144e6, 0.005),
    # GoogLeNet, Table 1's "params" column summed (without the auxiliary classifiers): 6.8 M.
    "googlenet": (6.7977e6, 0.05),
}


@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMS))
def test_vgg_parameters_equal_torchvision(name):
    import torchvision

    with torch.device("meta"):  # counting needs shapes only
        ours = create(name, "imagenet")
        reference = getattr(torchvision.models, name)(weights=None)
    expected = getattr(torchvision.models, f"VGG{name[3:]}_Weights").IMAGENET1K_V1.meta
    assert measure.count_parameters(ours) == TORCHVISION_PARAMS[name] == expected["num_params"]
    assert measure.count_parameters(reference) == TORCHVISION_PARAMS[name]
    with torch.device("meta"):
        bn = create(name, "imagenet", batch_norm=True)
        reference_bn = getattr(torchvision.models, f"{name}_bn")(weights=None)
    assert measure.count_parameters(bn) == measure.count_parameters(reference_bn)


def test_googlenet_and_alexnet_in_torchvision_configuration_equal_torchvision():
    import torchvision

    with torch.device("meta"):
        google = create(
            "googlenet", "imagenet", aux_logits=False, batch_norm=True, lrn=False,
            branch3_kernel=3, ceil_mode=True, last_pool_kernel=2,
        )
        alex = create(
            "alexnet", "imagenet", widths=(64, 192, 384, 256, 256), groups=1, lrn=False,
            adaptive_pool=6,
        )
    assert measure.count_parameters(google) == 6_624_904
    assert torchvision.models.GoogLeNet_Weights.IMAGENET1K_V1.meta["num_params"] == 6_624_904
    assert measure.count_parameters(alex) == 61_100_840
    assert torchvision.models.AlexNet_Weights.IMAGENET1K_V1.meta["num_params"] == 61_100_840


@pytest.mark.parametrize("name", sorted(PAPER_PARAMS))
def test_paper_configurations_near_the_papers_figures(name):
    with torch.device("meta"):
        if name == "lenet5":
            model = create("lenet5", paper=True)
        elif name == "googlenet":
            model = create("googlenet", "imagenet", aux_logits=False)
        else:
            model = create(name, "imagenet")
    figure, tolerance = PAPER_PARAMS[name]
    count = measure.count_parameters(model)
    assert abs(count - figure) <= tolerance * figure, (name, count, figure)


def test_lenet5_parameters_layer_by_layer():
    """Section II.B of the paper gives every layer's trainable parameters."""
    model = create("lenet5", paper=True)
    expected = {"C1": 156, "S2": 12, "C3": 1_516, "S4": 32, "C5": 48_120, "F6": 10_164}
    for layer, count in expected.items():
        assert measure.count_parameters(getattr(model, layer)) == count, layer
    assert measure.count_parameters(model.output) == 0  # fixed RBF vectors


def test_macs_by_hand():
    conv = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Flatten(), nn.Linear(8 * 4 * 4, 5))
    # conv: 8 x 4 x 4 outputs x 27 multiply-adds; linear: 128 x 5.
    assert measure.macs(conv, (1, 3, 4, 4)) == 8 * 16 * 27 + 128 * 5
    assert measure.flops(conv, (2, 3, 4, 4)) == 2 * 2 * (8 * 16 * 27 + 128 * 5)
    split = measure.mac_split(conv, (1, 3, 4, 4))
    assert split["conv"] == 8 * 16 * 27 and split["fc"] == 128 * 5


def test_imagenet_macs_match_the_papers():
    """GoogLeNet: "1.5 billion multiply-adds" (section 5); VGG-16: 15.5 G (commonly quoted,
    e.g. the lecture's table); AlexNet ~0.72 G."""
    google = create("googlenet", "imagenet", aux_logits=False)
    assert 1.5e9 <= measure.macs(google, (1, 3, 224, 224)) <= 1.6e9
    alex = create("alexnet", "imagenet")
    assert 0.70e9 <= measure.macs(alex, (1, 3, 224, 224)) <= 0.74e9


def test_latency_median_and_state_restored():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Dropout(0.5)).train()
    result = measure.latency(model, (1, 3, 16, 16), repeats=3, warmup=1)
    assert len(result.runs_ms) == 3 and result.median_ms == sorted(result.runs_ms)[1]
    assert model.training and result.batch_size == 1 and result.device == "cpu"
    before = torch.get_num_threads()
    assert measure.latency(model, (1, 3, 16, 16), repeats=1, threads=1).threads == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        measure.latency(model, (1, 3, 16, 16), threads=0)
    with pytest.raises(ValueError, match="repeats"):
        measure.latency(model, (1, 3, 16, 16), repeats=0)


def test_activation_memory_by_hand():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)).train()
    memory = measure.activation_memory(model, (2, 3, 8, 8))
    conv = 2 * 4 * 8 * 8 * 4  # bytes of float32
    assert memory == {"total": conv + conv + conv // 4, "largest": conv, "input": 2 * 3 * 64 * 4}
    assert model.training
    assert not model[0]._forward_hooks  # hooks removed


def test_summary_row():
    model = create("simple_cnn")
    row = measure.summary(model, (1, 3, 32, 32), latency_repeats=2)
    assert row["params"] == sum(p.numel() for p in model.parameters())
    assert row["params"] == row["params_conv"] + row["params_fc"]
    assert row["latency_ms"] > 0


def test_claims_table_is_a_dataframe_of_verdicts():
    from lecture21.measure import claims_table

    table = claims_table([("c", "10", "60 (статья)", "60", False), ("d", "1", "1", True)])
    assert list(table.columns) == ["в лекции", "источник", "измерено", "вывод"]
    assert list(table.index) == ["c", "d"] and table.index.name == "утверждение"
    assert list(table["вывод"]) == ["неверно / уточнено", "верно"]
    assert list(table["источник"]) == ["60 (статья)", "—"]  # a row of four has no source
    with pytest.raises(ValueError, match="holds"):
        claims_table([("c", "10", "60", "no")])
    with pytest.raises(ValueError, match="source"):
        claims_table([("c", "10")])


def test_conv_mlp_split_against_torchvision_modules():
    import torchvision

    table = measure.conv_mlp_split()
    assert list(table.index) == [row[0] for row in measure.SPLIT_NETWORKS]
    # VGG-16 and ResNet-18: the shares of torchvision's own modules, which nobody here wrote.
    for shown, name in (("VGG-16", "vgg16"), ("ResNet-18", "resnet18")):
        with torch.device("meta"):
            reference = getattr(torchvision.models, name)()
        split = measure.parameter_split(reference)
        assert table.loc[shown, "параметры в MLP"] == pytest.approx(split["fc"] / split["total"])
        assert table.loc[shown, "параметры, млн"] == round(split["total"] / 1e6, 3)
    # LeNet-5 as printed: C1 156 + C3 1,516 + C5 48,120 in convolutions, F6 10,164 in the MLP.
    assert table.loc["LeNet-5", "параметры в свёртках"] == pytest.approx(49_792 / 60_000)
    assert table.loc["LeNet-5", "параметры в MLP"] == pytest.approx(10_164 / 60_000)
    # The slide holds for the networks with big heads, not for those with global pooling.
    assert (table["MAC в свёртках"] > 0.9).all()
    assert (table.loc[["simple_cnn", "AlexNet", "VGG-16"], "параметры в MLP"] > 0.85).all()
    assert (table.loc[["GoogLeNet", "ResNet-18"], "параметры в MLP"] < 0.2).all()


def test_peak_memory_by_hand():
    """float32 maps of 8x8: a 1x1 conv to 4 maps allocates 4*64*4 = 1024 bytes; conv, ReLU
    (not in place), conv to 2 maps peaks while the conv's and the ReLU's outputs both live."""
    one = nn.Sequential(nn.Conv2d(1, 4, 1, bias=False))
    assert measure.peak_memory(one, (1, 1, 8, 8)) == 1024
    two = nn.Sequential(nn.Conv2d(1, 4, 1, bias=False), nn.ReLU(), nn.Conv2d(4, 2, 1, bias=False))
    assert measure.peak_memory(two, (1, 1, 8, 8)) == 2048
    bn = nn.Sequential(nn.Conv2d(1, 4, 1, bias=False), nn.BatchNorm2d(4)).eval()
    before = bn[1].running_mean.clone()
    assert measure.peak_memory(bn, (2, 1, 8, 8), training=True) > 2 * 1024
    assert torch.equal(bn[1].running_mean, before) and not bn.training  # the model untouched
    with pytest.raises(ValueError, match="input_shape"):
        measure.peak_memory(one, (8, 8))


def test_conv_weights_leave_out_biases_and_norms():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv1d(4, 2, 1, bias=False),
                        nn.Linear(2, 2))
    assert measure.conv_weights(net) == 3 * 4 * 9 + 4 * 2
