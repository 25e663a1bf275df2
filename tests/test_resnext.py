"""ResNeXt-50 (32x4d) against torchvision and timm; the CIFAR ResNeXt-29 against the paper."""

from __future__ import annotations

import pytest
import torch
import torchvision

from lecture21 import pretrained
from lecture21.measure import count_parameters
from lecture21.models import create, entry
from lecture21.models.resnet import Bottleneck
from lecture21.models.resnext import PAPER_PARAMETERS

torch.set_num_threads(1)


@pytest.mark.parametrize("source", ["torchvision", "timm"])
def test_resnext50_equals_the_references(source):
    torch.manual_seed(0)
    reference = pretrained.reference_model("resnext50_32x4d", source=source)
    ours = pretrained.from_reference("resnext50_32x4d", reference)
    theirs = reference.state_dict()  # by name: ours holds the reference's very tensors
    assert all(t.data_ptr() == theirs[k].data_ptr() for k, t in ours.state_dict().items())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-5)
    count = count_parameters(ours)
    assert count == count_parameters(reference) == 25_028_904
    # table 1 of the paper: 25.0 M (ResNet-50: 25.5 M); to 0.1 M
    assert abs(count - PAPER_PARAMETERS["resnext50_32x4d"]) < 0.1e6
    widths = [b.conv2.out_channels for b in ours.residual_blocks() if b.downsample is not None]
    assert widths == [128, 256, 512, 1024]  # 32 groups x 4, 8, 16, 32 channels
    assert all(b.conv2.groups == 32 for b in ours.residual_blocks())


def test_resnext50_references_are_declared():
    declared = entry("resnext50_32x4d").references
    assert [(r.source, r.name, r.weights) for r in declared] == [
        ("torchvision", "resnext50_32x4d", "ResNeXt50_32X4D_Weights.IMAGENET1K_V1"),
        ("timm", "resnext50_32x4d", "resnext50_32x4d.tv_in1k"),
    ]
    with torch.device("meta"):
        resnet = torchvision.models.resnet50()
    with pytest.raises(ValueError, match="32x4d"):
        declared[0].options(resnet)


@pytest.mark.parametrize(("cardinality", "key"), [(8, "resnext29_8x64d"), (16, "resnext29_16x64d")])
def test_resnext29_matches_table_7(cardinality, key):
    with torch.device("meta"):
        model = create("resnext29", cardinality=cardinality)
    blocks = model.residual_blocks()
    assert len(blocks) == 9 and all(isinstance(b, Bottleneck) for b in blocks)
    assert [b.conv2.out_channels // cardinality for b in blocks[::3]] == [64, 128, 256]
    assert [b.conv3.out_channels for b in blocks[::3]] == [256, 512, 1024]
    # 34.43 M and 68.16 M against the paper's 34.4 M and 68.1 M: to 0.1 M
    assert abs(count_parameters(model) - PAPER_PARAMETERS[key]) < 0.1e6


def test_resnext29_equals_pytorchcv():
    torch.manual_seed(0)
    reference = pretrained.reference_model("resnext29")  # pytorchcv's 32x4d: 4.8 M parameters
    ours = pretrained.from_reference("resnext29", reference)
    assert ours.layer1[0].conv2.groups == 32 and ours.layer1[0].conv2.out_channels == 128
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = reference(x)
        scale = expected.abs().max()
        torch.testing.assert_close(ours(x) / scale, expected / scale, rtol=1e-5, atol=1e-5)
    assert count_parameters(ours) == count_parameters(reference) == 4_775_754


def test_small_resnext29_runs_on_cifar():
    torch.manual_seed(0)
    model = create("resnext29", cardinality=4, bottleneck_width=4, width=16).eval()
    assert [b.conv2.out_channels for b in model.residual_blocks()[::3]] == [16, 32, 64]
    assert count_parameters(model) == 204_250
    with torch.no_grad():
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="cardinality"):
        create("resnext29", cardinality=0)
