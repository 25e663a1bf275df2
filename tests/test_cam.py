"""CAM (Zhou et al. 2016) on a tiny network whose maps are known by hand, against
pytorch-grad-cam, and on our GoogLeNet (the score is the map's mean plus the bias)."""

from __future__ import annotations

import pytest
import torch
from support import TwoMapCAMNet
from torch import nn

from lecture21.interpret.cam import cam, cam_and_logits
from lecture21.models import create


def test_cam_by_hand():
    model = TwoMapCAMNet().train()
    x = torch.tensor([[1.0, -2.0], [0.0, 3.0]]).view(1, 1, 2, 2)
    maps, logits = cam_and_logits(model, x, 0, "relu")
    # class 0: 2 relu(x) + 3 relu(-x)
    torch.testing.assert_close(maps[0], torch.tensor([[2.0, 6.0], [0.0, 6.0]]))
    maps1 = cam(model, x, 1, model.relu, upsample=False)
    # class 1: -relu(x) + relu(-x)
    torch.testing.assert_close(maps1[0], torch.tensor([[-1.0, 2.0], [0.0, -3.0]]))
    # S_c = mean M_c + b_c (eq. 2 of the paper)
    torch.testing.assert_close(logits[0, 0], maps[0].mean() + 0.5)
    assert model.training  # state restored
    assert not model.relu._forward_hooks


def test_cam_upsamples_to_the_input():
    model = TwoMapCAMNet()
    x = torch.randn(3, 1, 2, 2)
    assert cam(model, x, torch.tensor([0, 1, 0]), "relu").shape == (3, 2, 2)


def test_cam_equals_grad_cam_reference_for_gap_networks():
    """For GAP + linear, Grad-CAM's weights are w_k^c / (h w): its map is ReLU(CAM) scaled."""
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 6, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4),
    ).eval()
    x = torch.randn(2, 3, 9, 9)
    ours = cam(model, x, torch.tensor([1, 3]), model[3]).clamp(min=0)
    ours = ours - ours.amin((1, 2), keepdim=True)
    ours = ours / (ours.amax((1, 2), keepdim=True) + 1e-7)
    with GradCAM(model=model, target_layers=[model[3]]) as reference:
        expected = reference(x, targets=[ClassifierOutputTarget(1), ClassifierOutputTarget(3)])
    torch.testing.assert_close(ours, torch.as_tensor(expected), atol=1e-4, rtol=1e-4)


def test_cam_on_googlenet_sums_to_the_score():
    torch.manual_seed(0)
    model = create("googlenet", "cifar", width=0.25).eval()
    x = torch.randn(2, 3, 32, 32)
    maps, logits = cam_and_logits(model, x, torch.tensor([2, 7]), "inception5b")
    assert maps.shape == (2, 4, 4)
    bias = model.fc.bias[torch.tensor([2, 7])]
    torch.testing.assert_close(maps.mean((1, 2)) + bias, logits[[0, 1], [2, 7]])


def test_cam_bad_input():
    model = TwoMapCAMNet()
    x = torch.randn(1, 1, 2, 2)
    with pytest.raises(ValueError, match="target"):
        cam(model, x, 5, "relu")
    with pytest.raises(ValueError, match="global average pooling"):
        cam(nn.Sequential(nn.Conv2d(1, 3, 1), nn.Flatten(), nn.Linear(12, 2)), x, 0, "0")
    with pytest.raises(ValueError, match="x must be"):
        cam(model, torch.randn(1, 2, 2), 0, "relu")
