"""Xception against timm's legacy_xception (the Keras weights' model) and the paper."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lecture21 import pretrained
from lecture21.measure import count_parameters
from lecture21.models import create, entry
from lecture21.models.xception import Block, SeparableConv2d

torch.set_num_threads(1)


def test_equals_timms_legacy_xception(tmp_path, monkeypatch):
    torch.manual_seed(0)
    reference = pretrained.reference_model("xception")
    assert type(reference).__module__ == "timm.models.xception"
    ours = pretrained.from_reference("xception", reference)
    theirs = reference.state_dict()  # by name: ours holds the reference's very tensors
    assert all(t.data_ptr() == theirs[k].data_ptr() for k, t in ours.state_dict().items())
    x = torch.randn(2, 3, 71, 71)  # the smallest input the unpadded stem and 5 poolings allow
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-5)
    # table 3 of the paper: 22,855,952 parameters (22.8 M in the lecture)
    assert count_parameters(ours) == count_parameters(reference) == 22_855_952
    declared = entry("xception").reference()
    assert (declared.source, declared.name, declared.weights) == (
        "timm", "legacy_xception", "legacy_xception.tf_in1k")
    assert declared.options(reference) == {"middle_blocks": 8}
    # the official weights' path: a file saved from the reference, with timm's preprocessing
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    torch.save(reference.state_dict(), tmp_path / "xception.pth")
    loaded, preprocessing = pretrained.load("xception", tmp_path / "xception.pth")
    assert preprocessing.input_size == (3, 299, 299)
    assert preprocessing.mean == preprocessing.std == (0.5, 0.5, 0.5)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), reference(x), rtol=1e-5, atol=1e-5)


def test_flows_of_figure_5():
    with torch.device("meta"):
        model = create("xception", "imagenet")
    blocks = [getattr(model, f"block{i}") for i in range(1, 13)]
    widths = [[m for m in b.rep if isinstance(m, nn.BatchNorm2d)][-1].num_features for b in blocks]
    assert widths == [128, 256, 728] + [728] * 8 + [1024]
    assert [b.skip is None for b in blocks] == [False] * 3 + [True] * 8 + [False]
    separable = [m for m in model.modules() if isinstance(m, SeparableConv2d)]
    assert len(separable) == 2 * 3 + 3 * 8 + 2 + 2  # 34 depthwise separable convolutions
    assert all(s.conv1.groups == s.conv1.in_channels for s in separable)
    # 36 convolutional layers of feature extraction (section 3): 2 + 34
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len([c for c in convs if c.groups == 1 and c.kernel_size == (3, 3)]) == 2
    assert model.fc.in_features == 2048


def test_block_shortcut_does_not_see_the_inplace_relu():
    torch.manual_seed(0)
    block = Block(8, 8, 3).eval()
    x = torch.randn(1, 8, 5, 5)
    with torch.no_grad():
        expected = block.rep(x.clone()) + x
        torch.testing.assert_close(block(x), expected)


def test_cifar_variant_trains_on_32px():
    torch.manual_seed(0)
    model = create("xception", "cifar", width=0.25, middle_blocks=2)
    sides = []
    handle = model.block4.register_forward_hook(lambda m, i, o: sides.append(o.shape[-1]))
    try:
        logits = model(torch.randn(2, 3, 32, 32))
    finally:
        handle.remove()
    assert logits.shape == (2, 10) and sides == [4]  # 32 -> 16 -> 8 -> 4 in the entry flow
    nn.functional.cross_entropy(logits, torch.tensor([1, 2])).backward()
    assert all(p.grad is not None for p in model.parameters())
    assert count_parameters(model) == 722_576
    with pytest.raises(ValueError, match="middle_blocks"):
        create("xception", "cifar", middle_blocks=-1)
