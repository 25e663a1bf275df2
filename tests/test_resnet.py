"""ResNet-18 (both variants) and Page's ResNet-9, checked against torchvision and the papers."""

from __future__ import annotations

import pytest
import torch
import torchvision

from lecture21.measure import count_parameters
from lecture21.models import available, create
from lecture21.models.resnet import BasicBlock

torch.set_num_threads(1)


def test_registered():
    assert {"resnet18", "resnet9"} <= set(available())


def test_imagenet_resnet18_equals_torchvision_after_copying_weights():
    reference = torchvision.models.resnet18(weights=None).eval()
    ours = create("resnet18", variant="imagenet").eval()
    ours.load_state_dict(reference.state_dict())  # strict: every name and shape matches
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(ours(x), reference(x), atol=1e-5)
    assert count_parameters(ours) == count_parameters(reference) == 11_689_512  # paper: 11.7M


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
