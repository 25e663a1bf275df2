"""The ImageNet ResNets (18 ... 152) and Page's ResNet-9, checked against torchvision, timm,
pytorchcv and the papers."""

from __future__ import annotations

import pytest
import timm
import torch
import torchvision

from lecture21 import pretrained
from lecture21.measure import count_parameters
from lecture21.models import available, create, entry
from lecture21.models.resnet import BasicBlock, Bottleneck, ZeroPadShortcut

IMAGENET = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
#: Parameters of table 1's networks as the lecture and torchvision's documentation give them (M).
PAPER_MILLIONS = {"resnet18": 11.7, "resnet34": 21.8, "resnet50": 25.5, "resnet101": 44.5,
                  "resnet152": 60.2}
#: What we (and torchvision) count.
MEASURED = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
            "resnet101": 44_549_160, "resnet152": 60_192_808}

torch.set_num_threads(1)


def test_registered():
    assert {"resnet18", "resnet9", *IMAGENET} <= set(available())


@pytest.mark.parametrize("name", IMAGENET)
def test_imagenet_resnet_equals_torchvision(name):
    """Filled by name from a random torchvision reference: the same function and parameters."""
    torch.manual_seed(0)
    reference = pretrained.reference_model(name, source="torchvision")
    assert isinstance(reference, torchvision.models.ResNet)
    ours = pretrained.from_reference(name, reference)
    theirs = reference.state_dict()  # by name: ours holds the reference's very tensors
    assert all(t.data_ptr() == theirs[k].data_ptr() for k, t in ours.state_dict().items())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-5)
    count = count_parameters(ours)
    assert count == count_parameters(reference) == MEASURED[name]
    # the paper's (lecture's) figure to 0.1 M: ResNet-50 has 25.56 M, the lecture says 25.5 M
    assert abs(count / 1e6 - PAPER_MILLIONS[name]) < 0.1


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_imagenet_resnet_equals_timm(name):
    """timm's ResNet names its tensors as torchvision does: its weights load by name too."""
    torch.manual_seed(0)
    reference = pretrained.reference_model(name, source="timm")
    assert isinstance(reference, timm.models.ResNet)
    ours = pretrained.from_reference(name, reference)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-5)
    assert count_parameters(ours) == count_parameters(reference)


def test_paper_bottleneck_stride_on_1x1_equals_pytorchcv():
    """The paper's ResNet-50 (stride on the first 1x1) is pytorchcv's ``resnet50``; torchvision
    and timm ("v1.5") stride the 3x3: same parameters, different functions. pytorchcv's names
    differ: the layers are paired in order (conv, BN, ... checked kind by kind)."""
    torch.manual_seed(0)
    reference = pretrained.reference_model("resnet50", source="pytorchcv")
    ours = pretrained.from_reference("resnet50", reference)
    first = ours.layer2[0]
    assert first.conv1.stride == (2, 2) and first.conv2.stride == (1, 1)
    x = torch.randn(1, 3, 224, 224)  # pytorchcv pools with a fixed 7x7 window
    with torch.no_grad():
        expected = reference(x)
        scale = expected.abs().max()  # ~1e3: random weights, no residual scaling
        # float32 summation order differs: compare at the outputs' scale
        torch.testing.assert_close(ours(x) / scale, expected / scale, rtol=1e-5, atol=1e-5)
        with torch.device("meta"):
            v15 = create("resnet50", "imagenet")
        v15.load_state_dict(ours.state_dict(), assign=True)
        assert v15.layer2[0].conv2.stride == (2, 2)
        small = torch.randn(1, 3, 64, 64)
        assert not torch.allclose(v15.eval()(small), ours(small), rtol=1e-3)


def test_references_are_declared():
    for name in IMAGENET:
        found = entry(name).references
        assert [r.source for r in found][:2] == ["torchvision", "timm"]
        assert entry(name).reference().weights == (
            f"{name.replace('resnet', 'ResNet')}_Weights.IMAGENET1K_V1")
        assert found[1].weights == f"{name}.tv_in1k"
    with torch.device("meta"):
        wrong = torchvision.models.resnet101()
    with pytest.raises(ValueError, match=r"resnet50's stages \(3, 4, 6, 3\)"):
        entry("resnet50").reference().options(wrong)


def test_bottleneck_layout():
    block = Bottleneck(256, 128, stride=2).eval()  # first block of ResNet-50's conv3_x
    assert [c.out_channels for c in (block.conv1, block.conv2, block.conv3)] == [128, 128, 512]
    assert block(torch.randn(1, 256, 8, 8)).shape == (1, 512, 4, 4)
    grouped = Bottleneck(256, 64, groups=32, base_width=4)  # ResNeXt-50's conv2_x block
    assert grouped.conv2.groups == 32 and grouped.conv2.out_channels == 128
    assert Bottleneck(256, 64).downsample is None


def test_zero_pad_shortcut_is_option_a():
    x = torch.randn(2, 4, 6, 6)
    y = ZeroPadShortcut(4, 8, 2)(x)
    assert y.shape == (2, 8, 3, 3)
    torch.testing.assert_close(y[:, 2:6], x[:, :, ::2, ::2])
    assert y[:, :2].abs().sum() == 0 and y[:, 6:].abs().sum() == 0
    with pytest.raises(ValueError, match="out_channels"):
        ZeroPadShortcut(8, 4, 1)


def test_cifar_resnet18_keeps_resolution_in_the_stem():
    model = create("resnet18").eval()
    assert count_parameters(model) == 11_173_962  # 11.2M, as in kuangliu/pytorch-cifar
    sides = []
    hooks = [getattr(model, f"layer{i}").register_forward_hook(
        lambda m, i, o: sides.append(o.shape[-1])) for i in range(1, 5)]
    try:
        with torch.no_grad():
            out = model(torch.randn(2, 3, 32, 32))
    finally:
        for hook in hooks:
            hook.remove()
    assert out.shape == (2, 10) and sides == [32, 16, 8, 4]


def test_basic_block_shortcut():
    same = BasicBlock(8, 8)
    assert same.downsample is None
    down = BasicBlock(8, 16, stride=2).eval()
    assert down(torch.randn(1, 8, 8, 8)).shape == (1, 16, 4, 4)
    # with F(x) = 0 (zeroed last BN scale) the identity block passes relu(x) through
    torch.nn.init.zeros_(same.bn2.weight)
    torch.nn.init.zeros_(same.bn2.bias)
    x = torch.randn(1, 8, 5, 5)
    assert torch.equal(same.eval()(x), torch.relu(x))


def test_resnet9_matches_page():
    model = create("resnet9").eval()
    assert count_parameters(model) == 6_573_120  # Page's ResNet-9: 6.5M parameters
    with torch.no_grad():
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    small = create("resnet9", width=16, num_classes=3)
    assert small(torch.randn(2, 3, 32, 32)).shape == (2, 3)
    with pytest.raises(ValueError, match="width"):
        create("resnet9", width=0)


def test_bad_resnet_options_are_clear_errors():
    with pytest.raises(ValueError, match="has no variant 'cifar'"):
        create("resnet50")
    with pytest.raises(ValueError, match="stochastic_depth|survival"):
        create("resnet34", "imagenet", stochastic_depth=0.0)
    with pytest.raises(ValueError, match="width"):
        create("resnet18", width=0)


def test_figure_3_rows_are_the_papers_layers():
    """The figures are drawn from the models: figure 3's rows count the paper's layers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lecture21.models.resnet import ResNet
    from lecture21.plots import residual

    with torch.device("meta"):
        resnet34 = create("resnet34", "imagenet")
        plain34 = ResNet("basic", (3, 4, 6, 3), shortcut="none")
        vgg19 = create("vgg19", "imagenet")
    rows = {name: residual.model_layers(m)
            for name, m in (("resnet", resnet34), ("plain", plain34), ("vgg", vgg19))}
    weighted = {k: [r for r in v if r["kind"] != "pool"] for k, v in rows.items()}
    assert [len(weighted[k]) for k in ("resnet", "plain", "vgg")] == [34, 34, 19]
    assert [r["label"] for r in rows["resnet"]] == [r["label"] for r in rows["plain"]]
    blocks = {r["block"] for r in rows["resnet"]} - {None}
    assert len(blocks) == 16 and {r["block"] for r in rows["plain"]} == {None}
    assert sum(r["projection"] for r in rows["resnet"]) == 3 * 2  # 3 dashed shortcuts
    assert [r["side"] for r in rows["resnet"]][:2] == [112, 56]  # 7x7/2 conv, max pool
    for name, draw in residual.FIGURES.items():
        fig = draw()
        assert fig.axes, name
        plt.close(fig)
