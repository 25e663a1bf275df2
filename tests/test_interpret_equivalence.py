"""Our interpretation methods against captum and pytorch-grad-cam on real torchvision networks.

Random weights (nothing to download), 64x64 inputs to stay fast, a batch whose samples have
different targets. DenseNet-121 runs ReLU in place (``nn.ReLU(inplace=True)`` and
``F.relu(..., inplace=True)``): ours runs on the model as it is; the references, which break on
in-place ReLU, get a copy with in-place switched off.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torchvision
from captum.attr import (
    Deconvolution,
    GuidedBackprop,
    GuidedGradCam,
    LayerGradCam,
    Occlusion,
    Saliency,
)
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from lecture21 import interpret

TARGETS = torch.tensor([3, 7, 0])

# name -> (builder, Grad-CAM layer)
NETWORKS = {
    "resnet18": (torchvision.models.resnet18, "layer4"),
    "vgg11": (torchvision.models.vgg11, "features.18"),
    "densenet121": (torchvision.models.densenet121, "features.denseblock4"),
}


def _not_inplace(model: nn.Module) -> nn.Module:
    """A copy whose ReLUs are out of place (DenseNet's functional one too, via forward)."""
    clone = copy.deepcopy(model)
    for module in clone.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False
    if isinstance(clone, torchvision.models.DenseNet):
        # torchvision's DenseNet.forward applies F.relu(features, inplace=True), which captum's
        # module hooks cannot see: the reference gets it as an nn.ReLU module.
        clone.final_relu = nn.ReLU()

        def forward(x: torch.Tensor, self=clone) -> torch.Tensor:
            out = self.final_relu(self.features(x))
            out = nn.functional.adaptive_avg_pool2d(out, 1).flatten(1)
            return self.classifier(out)

        clone.forward = forward
    return clone


@pytest.fixture(scope="module", params=sorted(NETWORKS))
def network(request):
    torch.manual_seed(0)
    builder, layer = NETWORKS[request.param]
    model = builder(num_classes=10).eval()
    x = torch.randn(len(TARGETS), 3, 64, 64)
    return request.param, model, layer, x


def test_saliency_equals_captum(network):
    _, model, _, x = network
    ours = interpret.saliency(model, x, TARGETS)
    theirs = Saliency(_not_inplace(model)).attribute(x, target=TARGETS, abs=True).amax(1)
    assert ours.shape == (3, 64, 64)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-7)


def test_grad_cam_equals_captum(network):
    _, model, layer, x = network
    ours = interpret.grad_cam(model, x, TARGETS, layer)
    reference = _not_inplace(model)
    theirs = LayerGradCam(reference, reference.get_submodule(layer)).attribute(
        x, target=TARGETS, relu_attributions=True
    )[:, 0]
    assert ours.ndim == 3 and ours.shape == theirs.shape
    assert ours.max() > 0
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)


def test_grad_cam_upsampled_matches_pytorch_grad_cam(network):
    _, model, layer, x = network
    ours = interpret.minmax(interpret.grad_cam(model, x, TARGETS, layer, upsample=True))
    reference = _not_inplace(model)
    with GradCAM(reference, [reference.get_submodule(layer)]) as cam:
        theirs = cam(x, targets=[ClassifierOutputTarget(int(t)) for t in TARGETS])
    assert ours.shape == (3, 64, 64)
    torch.testing.assert_close(ours, torch.from_numpy(theirs), rtol=0, atol=1e-4)


def test_occlusion_equals_captum(network):
    _, model, _, x = network
    ours = interpret.occlusion(model, x, TARGETS, window=16, stride=12, baseline=0.0)
    theirs = Occlusion(model).attribute(
        x, sliding_window_shapes=(3, 16, 16), strides=(3, 12, 12), target=TARGETS,
        baselines=0.0, perturbations_per_eval=32,
    )
    torch.testing.assert_close(theirs[:, 1], theirs[:, 0])
    torch.testing.assert_close(ours, theirs[:, 0], rtol=1e-4, atol=1e-5)


def test_guided_backprop_equals_captum(network):
    _, model, _, x = network
    ours = interpret.guided_backprop(model, x, TARGETS)
    theirs = GuidedBackprop(_not_inplace(model)).attribute(x, target=TARGETS)
    assert ours.shape == x.shape and ours.abs().sum() > 0
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-7)


def test_deconvnet_equals_captum(network):
    _, model, _, x = network
    ours = interpret.deconvnet(model, x, TARGETS)
    theirs = Deconvolution(_not_inplace(model)).attribute(x, target=TARGETS)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)


def test_guided_grad_cam_equals_captum(network):
    _, model, layer, x = network
    ours = interpret.guided_grad_cam(model, x, TARGETS, layer, mode="nearest")
    reference = _not_inplace(model)
    theirs = GuidedGradCam(reference, reference.get_submodule(layer)).attribute(
        x, target=TARGETS
    )
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-7)
