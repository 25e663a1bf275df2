"""Pretrained weights: the offline error, local weights files, and our models equal to references.

The references (torchvision, timm) are randomly initialised here: nothing is downloaded. Copied
into our model, they must give the same logits in eval mode on random input.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import timm
import torch

from lecture21 import pretrained


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(pretrained.WEIGHTS_ENV, raising=False)


def test_timm_model_offline_raises_one_clear_error_fast():
    start = time.perf_counter()
    with pytest.raises(pretrained.WeightsUnavailable) as info:
        pretrained.timm_model("resnet18")
    assert time.perf_counter() - start < 1.0
    message = str(info.value)
    assert "Не удалось загрузить" in message and "could not be downloaded" in message
    assert "weights_path" in message and pretrained.WEIGHTS_ENV in message


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
