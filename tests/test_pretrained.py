"""Pretrained weights: the offline error, local weights files, and our models equal to references.

The references (torchvision, timm) are randomly initialised here: nothing is downloaded. Copied
into our model, they must give the same logits in eval mode on random input.
"""

from __future__ import annotations

import socket
import urllib.request

import numpy as np
import pytest
import timm
import torch

from lecture21 import pretrained


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv(pretrained.WEIGHTS_ENV, str(tmp_path / "empty-weights"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "empty-hub"))


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test (instead of waiting on a timeout)."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a network call was attempted: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def test_timm_model_offline_raises_one_short_line_without_a_network_call(no_network):
    with pytest.raises(pretrained.WeightsUnavailable) as info:
        pretrained.timm_model("resnet18")
    message = str(info.value)
    assert "\n" not in message and len(message) < 240
    assert message.startswith("Веса timm 'resnet18' недоступны (HF_HUB_OFFLINE=1)")
    assert "make weights" in message and pretrained.WEIGHTS_ENV in message


def test_timm_model_unknown_name():
    with pytest.raises(ValueError, match="timm model name"):
        pretrained.timm_model("no_such_model_xyz")


def test_timm_model_local_file_and_env_dir(tmp_path, monkeypatch):
    torch.manual_seed(0)
    reference = timm.create_model("resnet18", num_classes=7)
    torch.save(reference.state_dict(), tmp_path / "resnet18.pth")
    model, pre = pretrained.timm_model("resnet18", tmp_path / "resnet18.pth", num_classes=7)
    assert torch.equal(model.fc.weight, reference.fc.weight)
    assert not model.training
    assert pre.input_size == (3, 224, 224) and pre.mean == (0.485, 0.456, 0.406)
    monkeypatch.setenv(pretrained.WEIGHTS_ENV, str(tmp_path))
    model, _ = pretrained.timm_model("resnet18", num_classes=7)
    assert torch.equal(model.fc.weight, reference.fc.weight)
    with pytest.raises(ValueError, match="weights_path"):
        pretrained.timm_model("resnet18", tmp_path / "missing.pth")


def test_preprocessing_resizes_crops_and_normalises():
    pre = pretrained.Preprocessing((0.5, 0.5, 0.5), (0.25, 0.25, 0.25), (3, 8, 8), crop_pct=1.0)
    image = np.full((16, 32, 3), 255, dtype=np.uint8)
    batch = pre(image)
    assert batch.shape == (1, 3, 8, 8)
    assert torch.allclose(batch, torch.full_like(batch, 2.0), atol=1e-5)  # (1 - 0.5) / 0.25
    assert torch.allclose(pre.undo(batch), torch.ones(1, 8, 8, 3), atol=1e-5)
    with pytest.raises(ValueError, match="image"):
        pre(np.zeros((8, 8), dtype=np.uint8))


# ---- our models equal to the references ------------------------------------------------------


def _randomise_batch_norm(model: torch.nn.Module) -> None:
    """Fresh BN layers are the identity in eval mode; random statistics make the copy matter."""
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.rand(n, generator=generator) - 0.5)
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            module.bias.data.copy_(torch.rand(n, generator=generator) - 0.5)


def _assert_same_logits(reference, ours, size: int) -> None:
    reference.eval()
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected, actual = reference(x), ours(x)
    assert not ours.training
    scale = expected.abs().max().item()
    assert scale > 0
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5 * scale)


def _torchvision(name: str, **options):
    import torchvision

    torch.manual_seed(0)
    return getattr(torchvision.models, name)(weights=None, **options)


def _timm(name: str):
    torch.manual_seed(0)
    return timm.create_model(name, pretrained=False)


def test_alexnet_equals_torchvision():
    reference = _torchvision("alexnet")
    ours = pretrained.from_reference("alexnet", reference)
    assert not any(isinstance(m, torch.nn.LocalResponseNorm) for m in ours.modules())
    _assert_same_logits(reference, ours, 63)  # the smallest input AlexNet's strides accept


@pytest.mark.parametrize(("aux_logits", "transform_input"), [(False, False), (True, True)])
def test_googlenet_equals_torchvision(aux_logits, transform_input):
    reference = _torchvision(
        "googlenet", aux_logits=aux_logits, transform_input=transform_input, init_weights=False
    )
    _randomise_batch_norm(reference)
    ours = pretrained.from_reference("googlenet", reference)
    _assert_same_logits(reference, ours, 32)
    # The auxiliary classifiers too, in training mode (dropout off to compare).
    if aux_logits:
        for model in (reference, ours):
            model.train()
            for m in model.modules():
                if isinstance(m, torch.nn.Dropout | torch.nn.BatchNorm2d):
                    m.eval()
        x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(3))
        with torch.no_grad():
            expected, actual = reference(x), ours(x)
        for e, a in zip(expected, actual):
            torch.testing.assert_close(a, e, rtol=1e-5, atol=1e-5 * e.abs().max().item())


@pytest.mark.parametrize("depth", [11, 16, 19])
@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("source", ["timm", "torchvision"])
def test_vgg_equals_references(depth, batch_norm, source):
    name = f"vgg{depth}" + ("_bn" if batch_norm else "")
    reference = _timm(name) if source == "timm" else _torchvision(name)
    _randomise_batch_norm(reference)
    ours = pretrained.from_reference(name, reference)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in ours.modules()) == batch_norm
    # 32x32 leaves a 1x1 map; both references and ours pool it up to 7x7 before fc6.
    _assert_same_logits(reference, ours, 32)
    del reference, ours


def test_from_reference_rejects_a_mismatch():
    reference = _torchvision("vgg11")
    with pytest.raises(ValueError, match="convolutions"):
        pretrained.from_reference("vgg16", reference)
    with pytest.raises(ValueError, match="AlexNet"):
        pretrained.from_reference("alexnet", reference)
    with pytest.raises(ValueError, match="batch norm"):
        pretrained.from_reference("vgg11_bn", reference)
    with pytest.raises(ValueError, match="declares a reference"):
        pretrained.from_reference("simple_cnn", reference)


def test_resnet18_equals_torchvision_by_name():
    reference = _torchvision("resnet18")
    _randomise_batch_norm(reference)
    ours = pretrained.from_reference("resnet18", reference)
    # Loaded by name: every tensor of ours is the reference's tensor of the same name.
    theirs = reference.state_dict()
    assert all(t.data_ptr() == theirs[k].data_ptr() for k, t in ours.state_dict().items())
    _assert_same_logits(reference, ours, 64)


def test_order_pairing_names_the_first_mismatch():
    import torchvision

    from lecture21.models import create

    with torch.device("meta"):
        ours = create("vgg11", "imagenet", batch_norm=True)
    reference = torchvision.models.vgg11(weights=None)
    with pytest.raises(ValueError, match=r"layer 1 differs: reference features.3 Conv2d"):
        pretrained.paired_state_dict(reference, ours)


# ---- load(): offline error and local weights files --------------------------------------------


@pytest.mark.parametrize("name", ["alexnet", "googlenet", "vgg11", "resnet18"])
def test_load_offline_raises_without_a_network_call(name, no_network):
    with pytest.raises(pretrained.WeightsUnavailable, match="make weights"):
        pretrained.load(name)


def test_load_reads_a_weights_file_saved_from_the_reference(tmp_path, monkeypatch):
    import torchvision

    torch.manual_seed(0)
    reference = torchvision.models.googlenet(
        weights=None, aux_logits=True, init_weights=False, transform_input=True
    )
    _randomise_batch_norm(reference)
    torch.save(reference.state_dict(), tmp_path / "googlenet.pth")
    ours, pre = pretrained.load("googlenet", tmp_path / "googlenet.pth")
    assert pre.input_size == (3, 224, 224) and pre.std == (0.229, 0.224, 0.225)
    _assert_same_logits(reference, ours, 32)
    # The same through the weights directory, for a timm-sourced model.
    vgg = _timm("vgg11")
    torch.save(vgg.state_dict(), tmp_path / "vgg11.pth")
    monkeypatch.setenv(pretrained.WEIGHTS_ENV, str(tmp_path))
    ours, pre = pretrained.load("vgg11")
    assert pre.input_size == (3, 224, 224)
    _assert_same_logits(vgg, ours, 32)
