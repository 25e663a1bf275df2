"""Hand-computable tiny models, functional ReLU, hooks and model state, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from captum.attr import GuidedBackprop
from support import X_BY_HAND, TwoLayerMLP, TwoMapCAMNet
from torch import nn

from lecture21 import interpret

X = X_BY_HAND  # h_pre = (1-2+6, 2+3+1, -2+2-1) = (5, 6, -1)


def test_tiny_saliency_guided_and_deconv_by_hand():
    model = TwoLayerMLP()
    w1, w2 = model.fc1.weight.detach(), model.fc2.weight.detach()
    on = torch.tensor([1.0, 1, 0])  # which hidden units are active
    plain = w1.T @ (w2[0] * on)
    guided = w1.T @ (w2[0].clamp(min=0) * on)
    deconv = w1.T @ w2[0].clamp(min=0)
    torch.testing.assert_close(interpret.saliency(model, X, 0), plain.abs().view(1, 2, 2))
    torch.testing.assert_close(interpret.guided_backprop(model, X, 0), guided.view(1, 1, 2, 2))
    torch.testing.assert_close(interpret.deconvnet(model, X, 0), deconv.view(1, 1, 2, 2))
    assert not torch.allclose(guided, plain)


def test_functional_relu_is_handled_where_captum_degrades():
    module, functional = TwoLayerMLP(), TwoLayerMLP(functional=True)
    ours = interpret.guided_backprop(functional, X, 0)
    torch.testing.assert_close(ours, interpret.guided_backprop(module, X, 0))
    # captum's hooks see no nn.ReLU that runs, so it returns the plain gradient.
    theirs = GuidedBackprop(functional).attribute(X.clone(), target=0)
    plain = torch.autograd.functional.jacobian(lambda v: functional(v)[0, 0], X)
    torch.testing.assert_close(theirs, plain)
    assert not torch.allclose(ours, theirs)


def test_no_relu_is_refused():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2), nn.Tanh())
    with pytest.raises(ValueError, match="no ReLU"):
        interpret.guided_backprop(model, X, 0)


def test_occlusion_by_hand():
    weight = torch.arange(16.0).view(1, 1, 4, 4)

    class Dot(nn.Module):
        def forward(self, x):
            return (x * weight).flatten(1).sum(1, keepdim=True)

    x = torch.rand(1, 1, 4, 4)
    contribution = x * weight
    # 2x2 windows with stride 2 tile the image: each pixel gets its own window's sum.
    expected = F.avg_pool2d(contribution, 2) * 4
    expected = expected.repeat_interleave(2, -1).repeat_interleave(2, -2)[:, 0]
    torch.testing.assert_close(interpret.occlusion(Dot(), x, 0, window=2, stride=2), expected)
    # Stride 1: the mean over the 1, 2 or 4 windows that cover each pixel.
    by_stride1 = interpret.occlusion(Dot(), x, 0, window=2, stride=1)
    sums = F.avg_pool2d(contribution, 2, stride=1) * 4  # (1, 1, 3, 3) window sums
    total = F.pad(sums, (1, 1, 1, 1)).unfold(2, 2, 1).unfold(3, 2, 1).sum((-1, -2))
    count = F.pad(torch.ones_like(sums), (1, 1, 1, 1)).unfold(2, 2, 1).unfold(3, 2, 1)
    torch.testing.assert_close(by_stride1, (total / count.sum((-1, -2)))[:, 0])


def test_grad_cam_by_hand():
    torch.manual_seed(0)
    features = nn.Conv2d(2, 4, 3, padding=1)
    head = nn.Linear(4, 3)
    model = nn.Sequential(features, nn.AdaptiveAvgPool2d(1), nn.Flatten(), head)
    x = torch.randn(2, 2, 5, 5)
    target = torch.tensor([2, 0])
    a = features(x).detach()
    # S_c = sum_k v_ck mean(A_k) -> alpha_k = v_ck / (h w), cam = ReLU(sum_k v_ck A_k) / (h w).
    v = head.weight.detach()[target]
    expected = (v[:, :, None, None] * a).sum(1).clamp(min=0) / 25
    torch.testing.assert_close(interpret.grad_cam(model, x, target, "0"), expected)
    torch.testing.assert_close(interpret.grad_cam(model, x, target, features), expected)


def _hooks(model: nn.Module) -> int:
    return sum(
        len(m._forward_hooks) + len(m._backward_hooks) + len(m._forward_pre_hooks)
        for m in model.modules()
    )


class Exploding(nn.Module):
    """A CNN that raises after its conv layer has run (to test clean-up on error)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(4, 3)
        self.explode = False

    def forward(self, x):
        h = self.relu(self.bn(self.conv(x)))
        if self.explode:
            raise RuntimeError("boom")
        return self.fc(h.mean((2, 3)))


METHODS = {
    "saliency": lambda m, x: interpret.saliency(m, x, 1),
    "grad_cam": lambda m, x: interpret.grad_cam(m, x, 1, "conv"),
    "guided_backprop": lambda m, x: interpret.guided_backprop(m, x, 1),
    "deconvnet": lambda m, x: interpret.deconvnet(m, x, 1),
    "guided_grad_cam": lambda m, x: interpret.guided_grad_cam(m, x, 1, "conv"),
    "occlusion": lambda m, x: interpret.occlusion(m, x, 1, window=4, stride=4),
}


@pytest.mark.parametrize("explode", [False, True])
@pytest.mark.parametrize("method", sorted(METHODS))
def test_hooks_removed_and_state_restored(method, explode):
    model = Exploding()
    model.train()
    model.bn.eval()
    model.fc.weight.requires_grad_(False)
    model.explode = explode
    x = torch.randn(2, 3, 8, 8)
    running_mean = model.bn.running_mean.clone()
    if explode:
        with pytest.raises(RuntimeError, match="boom"):
            METHODS[method](model, x)
    else:
        METHODS[method](model, x)
    assert _hooks(model) == 0
    assert torch._C._len_torch_function_stack() == 0  # the ReLU override is gone
    assert model.training and model.conv.training and not model.bn.training
    assert model.conv.weight.requires_grad and not model.fc.weight.requires_grad
    assert all(p.grad is None for p in model.parameters())
    torch.testing.assert_close(model.bn.running_mean, running_mean)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_bad_targets(method):
    model, x = Exploding(), torch.randn(2, 3, 8, 8)
    call = NON_FINITE_CALLS[method]  # the same calls, defined below
    with pytest.raises(ValueError, match=r"target must lie in \[0, 3\)"):
        call(model, x, 3)
    with pytest.raises(ValueError, match="target must lie"):
        call(model, x, torch.tensor([0, -1]))
    with pytest.raises(ValueError, match="one class per sample"):
        call(model, x, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="target must be an int"):
        call(model, x, 1.5)
    with pytest.raises(ValueError, match="x must be a float tensor"):
        call(model, x[0], 1)
    assert _hooks(model) == 0


NON_FINITE_CALLS = {
    "saliency": interpret.saliency,
    "guided_backprop": interpret.guided_backprop,
    "deconvnet": interpret.deconvnet,
    "grad_cam": lambda m, x, t: interpret.grad_cam(m, x, t, "conv"),
    "guided_grad_cam": lambda m, x, t: interpret.guided_grad_cam(m, x, t, "conv"),
    "occlusion": lambda m, x, t: interpret.occlusion(m, x, t, window=4, stride=4),
    "cam": lambda m, x, t: interpret.cam(m, x, t, "conv"),
    "effective_receptive_field": lambda m, x, t: interpret.effective_receptive_field(
        m, x, "conv"),
    "activations": lambda m, x, t: interpret.activations(m, x, ["conv"]),
    "deletion_insertion": lambda m, x, t: interpret.deletion_insertion(
        m, x, t, torch.rand(len(x), *x.shape[2:])),
}


@pytest.mark.parametrize("method", sorted(NON_FINITE_CALLS))
@pytest.mark.parametrize("bad", ["nan", "inf", "empty"])
def test_non_finite_or_empty_input_is_refused(method, bad):
    """Issue 11, item 5: an all-NaN input used to give finite, plausible maps."""
    model = TwoMapCAMNet()
    x = torch.randn(2, 1, 8, 8)
    if bad == "nan":
        x[1] = float("nan")
    elif bad == "inf":
        x[0, 0, 3, 3] = float("inf")
    else:
        x = x[:0]
    expected = {"nan": "image 1 holds NaN", "inf": "image 0 holds NaN or infinite",
                "empty": "at least one image"}[bad]
    with pytest.raises(ValueError, match=expected):
        NON_FINITE_CALLS[method](model, x, 0)
    assert _hooks(model) == 0 and all(p.requires_grad for p in model.parameters())


def test_bad_layers():
    model, x = Exploding(), torch.randn(2, 3, 8, 8)
    with pytest.raises(ValueError, match="not a submodule"):
        interpret.grad_cam(model, x, 0, "layer9")
    with pytest.raises(ValueError, match="not a module of the model"):
        interpret.grad_cam(model, x, 0, nn.Conv2d(3, 4, 3))
    with pytest.raises(ValueError, match="no spatial output"):
        interpret.grad_cam(model, x, 0, "fc")
    with pytest.raises(ValueError, match="did not run"):
        model.unused = nn.Conv2d(1, 1, 1)
        interpret.grad_cam(model, x, 0, "unused")
    assert _hooks(model) == 0


def test_per_sample_targets_are_independent():
    torch.manual_seed(1)
    model = Exploding()
    x = torch.randn(3, 3, 8, 8)
    targets = torch.tensor([2, 0, 1])
    batched = interpret.grad_cam(model, x, targets, "conv")
    single = torch.cat([interpret.grad_cam(model, x[i : i + 1], int(t), "conv")
                        for i, t in enumerate(targets)])
    torch.testing.assert_close(batched, single)


def test_a_negative_target_names_the_range_without_none():
    """Issue 11, item 7: it used to read "must lie in [0, None)"."""
    with pytest.raises(ValueError, match=r"lie in \[0, the number of classes\), got values") as e:
        interpret.class_model(TwoLayerMLP(), torch.tensor([-1]), steps=1, shape=(1, 2, 2))
    assert "None" not in str(e.value)
