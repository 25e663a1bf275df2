"""The classic architectures against their papers: shapes, maps, blocks, options, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lecture21.measure import count_parameters
from lecture21.models import available, create
from lecture21.models.alexnet import LocalResponseNorm, local_response_norm
from lecture21.models.googlenet import GoogLeNetOutputs, InceptionBlock, googlenet_loss
from lecture21.models.lenet import CONNECTIONS

CLASSIC = ["alexnet", "googlenet", "lenet5", "vgg11", "vgg13", "vgg16", "vgg19", "zfnet"]


def test_registered():
    assert set(CLASSIC) <= set(available())


@pytest.mark.parametrize("name", CLASSIC)
def test_cifar_variants_forward_and_backward(name):
    torch.manual_seed(0)
    model = create(name, "cifar", num_classes=7)
    x = torch.randn(2, 3, 32, 32)
    logits = model(x)
    assert logits.shape == (2, 7)
    F.cross_entropy(logits, torch.tensor([0, 1])).backward()
    assert all(p.grad is not None for p in model.parameters())


def _maps(model: nn.Module, layers: list[nn.Module], x: torch.Tensor) -> list[int]:
    sides = []
    handles = [m.register_forward_hook(lambda m, i, o: sides.append(o.shape[-1])) for m in layers]
    try:
        with torch.no_grad():
            model.eval()(x)
    finally:
        for h in handles:
            h.remove()
    return sides


def test_alexnet_paper_maps_groups_and_lrn():
    model = create("alexnet", "imagenet")
    convs = [layer.conv for layer in model.features]
    # Figure 2 of the paper: 55x55 after conv1, 27, 13, 13, 13 after conv2..conv5.
    assert _maps(model, convs, torch.zeros(1, 3, 224, 224)) == [55, 27, 13, 13, 13]
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2]  # the two-GPU split
    assert convs[1].weight.shape == (256, 48, 5, 5)  # each GPU's kernels see 48 maps
    assert model.classifier.fc6.in_features == 256 * 6 * 6
    assert sum(isinstance(m, LocalResponseNorm) for m in model.modules()) == 2


def test_lrn_uses_the_papers_formula():
    """b = a / (k + alpha * sum over n=5 neighbouring maps of a^2) ** beta, k=2, alpha=1e-4."""
    a = torch.randn(1, 7, 2, 2) * 30
    b = LocalResponseNorm()(a)
    for i in range(7):
        lo, hi = max(0, i - 2), min(6, i + 2)
        denom = (2 + 1e-4 * (a[:, lo : hi + 1] ** 2).sum(1)) ** 0.75
        torch.testing.assert_close(b[:, i], a[:, i] / denom)


@pytest.mark.parametrize("size", [1, 2, 5, 6])
@pytest.mark.parametrize("channels_last", [False, True])
def test_fast_lrn_equals_torchs(size, channels_last):
    """Our shifted-slice LRN gives torch.nn.LocalResponseNorm's output and input gradient."""
    x = torch.randn(3, 9, 5, 4) * 20
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    ours, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    weights = torch.randn(3, 9, 5, 4)
    reference = torch.nn.LocalResponseNorm(size, alpha=1e-3, beta=0.75, k=2.0)
    (local_response_norm(ours, size, 1e-3, 0.75, 2.0) * weights).sum().backward()
    (reference(theirs) * weights).sum().backward()
    torch.testing.assert_close(local_response_norm(x, size, 1e-3, 0.75, 2.0), reference(x),
                               rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="x must be a 4-D"):
        local_response_norm(x[0], size)


def test_zfnet_paper_maps():
    model = create("zfnet", "imagenet")
    layers = [layer.conv for layer in model.features] + [model.features.conv5.pool]
    # Figure 3 of Zeiler & Fergus: 110, 26, 13, 13, 13 and 6x6 after the last pooling.
    assert _maps(model, layers, torch.zeros(1, 3, 224, 224)) == [110, 26, 13, 13, 13, 6]
    assert model.features.conv1.conv.kernel_size == (7, 7)
    assert all(layer.conv.groups == 1 for layer in model.features)


def test_vgg_configurations_have_their_depth():
    for name, depth in (("vgg11", 11), ("vgg13", 13), ("vgg16", 16), ("vgg19", 19)):
        with torch.device("meta"):
            model = create(name, "imagenet")
        weighted = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
        assert len(weighted) == depth
        assert all(m.kernel_size == (3, 3) for m in weighted if isinstance(m, nn.Conv2d))


def test_vgg_conv_classifier_equals_linear_one():
    """Section 3.2: the FC layers as convolutions compute the same on a 7x7 map."""
    torch.manual_seed(0)
    linear = create("vgg11", "cifar", width=0.125)
    conv = create("vgg11", "cifar", width=0.125, classifier="conv")
    conv.features.load_state_dict(linear.features.state_dict())
    c, lin = conv.classifier, linear.classifier
    c.fc6.weight.data.copy_(lin.fc6.weight.view_as(c.fc6.weight))
    c.fc6.bias.data.copy_(lin.fc6.bias)
    c.fc7.weight.data.copy_(lin.fc7.weight.view_as(c.fc7.weight))
    c.fc7.bias.data.copy_(lin.fc7.bias)
    c.fc8.load_state_dict(lin.fc8.state_dict())
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(conv.eval()(x), linear.eval()(x))


def test_googlenet_paper_blocks_and_aux():
    model = create("googlenet", "imagenet")
    blocks = [m for m in model.modules() if isinstance(m, InceptionBlock)]
    # Table 1's output depths of 3a ... 5b.
    assert [b.out_channels for b in blocks] == [256, 480, 512, 512, 512, 528, 832, 832, 1024]
    assert model.inception3a.branch3[1].conv.kernel_size == (5, 5)
    assert _maps(model, [model.inception3a, model.inception4a, model.inception5b],
                 torch.zeros(1, 3, 224, 224)) == [28, 14, 7]
    model.train()
    outputs = model(torch.randn(1, 3, 224, 224))
    assert isinstance(outputs, GoogLeNetOutputs)
    assert outputs.logits.shape == outputs.aux1.shape == outputs.aux2.shape == (1, 1000)
    targets = torch.tensor([3])
    expected = F.cross_entropy(outputs.logits, targets) + 0.3 * (
        F.cross_entropy(outputs.aux1, targets) + F.cross_entropy(outputs.aux2, targets)
    )
    torch.testing.assert_close(googlenet_loss(outputs, targets), expected)
    assert model.eval()(torch.randn(1, 3, 224, 224)).shape == (1, 1000)


def test_inception_bottleneck_saves_multiplications():
    """The 1x1 reduce before the 5x5 of block 3a: 192 -> 16 -> 32 channels on 28x28."""
    block = create("googlenet", "imagenet").inception3a
    reduce_, conv5 = (s.conv for s in block.branch3)
    with_bottleneck = count_parameters(reduce_) + count_parameters(conv5)
    direct = 192 * 32 * 25 + 32
    assert with_bottleneck == 192 * 16 + 16 + 16 * 32 * 25 + 32
    assert direct / with_bottleneck > 9


def test_lenet5_connection_table_and_layers():
    assert len(CONNECTIONS) == 16 and sum(map(len, CONNECTIONS)) == 60
    model = create("lenet5", paper=True)
    x = torch.randn(2, 1, 32, 32, requires_grad=True)
    out = model(x)
    assert out.shape == (2, 10)
    # C3's map 0 sees only S2's maps 0, 1, 2 (Table I).
    s2 = torch.zeros(1, 6, 14, 14)
    s2[:, 3:] = torch.randn(1, 3, 14, 14)
    c3 = model.C3[0](s2)
    assert torch.allclose(c3[0, 0], model.C3[0].bias[0].expand(10, 10))
    with pytest.raises(ValueError, match="32x32"):
        model(torch.randn(1, 1, 28, 28))


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("alexnet", {"widths": (1, 2)}, "widths"),
        ("alexnet", {"width": 0}, "width"),
        ("googlenet", {"branch3_kernel": 7}, "branch3_kernel"),
        ("vgg16", {"classifier": "mlp"}, "classifier"),
        ("vgg16", {"dropout": 1.5}, "dropout"),
        ("lenet5", {"head": "softmax"}, "head"),
        ("lenet5", {"subsampling": "median"}, "subsampling"),
    ],
)
def test_bad_options_raise_clear_errors(name, options, message):
    with pytest.raises(ValueError, match=message):
        create(name, "cifar", **options)


def test_topk_accuracy_by_hand():
    from lecture21.ilsvrc import topk_accuracy

    logits = torch.tensor([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5]])
    labels = torch.tensor([2, 0, 0])
    assert topk_accuracy(logits, labels, 1) == pytest.approx(1 / 3)
    assert topk_accuracy(logits, labels, 2) == pytest.approx(2 / 3)
    assert topk_accuracy(logits, labels, 3) == 1.0
    with pytest.raises(ValueError, match="k must"):
        topk_accuracy(logits, labels, 4)
    with pytest.raises(ValueError, match="labels"):
        topk_accuracy(logits, labels[:2], 1)


def test_ilsvrc_table_is_ordered_and_falls():
    from lecture21.ilsvrc import HUMAN_TOP5_ERROR, winners

    years = [r.year for r in winners()]
    errors = [r.top5_error for r in winners()]
    assert years == sorted(years) and len(set(years)) == len(years)
    assert errors == sorted(errors, reverse=True)
    assert errors[-1] < HUMAN_TOP5_ERROR < errors[-2]


def test_architecture_figures_draw():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lecture21.plots import architectures

    for name, draw in architectures.FIGURES.items():
        fig = draw()
        assert fig.axes, name
        plt.close(fig)
    assert set(architectures.__all__) >= {"lenet_structure", "alexnet_groups", "inception_block"}


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_figures_show_the_papers_numbers():
    """The figures are drawn from the models: their labels must read as the papers' figures.
    LeNet-5 (figure 2): 6@28x28, 6@14x14, 16@10x10, 16@5x5, 120@1x1, 84, 10. AlexNet (figure 2):
    conv3 sees both GPUs' maps, conv2/4/5 only their own. GoogLeNet (table 1), inception (3a):
    64 + 128 + 32 + 32 = 256 channels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lecture21.plots import architectures

    lenet = _texts(architectures.lenet_structure())
    assert lenet == ["вход\n1@32×32", "C1\n6@28×28", "S2\n6@14×14", "C3\n16@10×10",
                     "S4\n16@5×5", "C5\n120@1×1", "F6\n84", "output\n10"]
    alexnet = _texts(architectures.alexnet_groups())
    assert [t for t in alexnet if t in {"groups=2", "все карты"}] == [
        "groups=2", "все карты", "groups=2", "groups=2"]
    inception = _texts(architectures.inception_block())
    assert "конкатенация: 256 каналов" in inception
    assert [t.split("\n")[1] for t in inception if t.startswith("conv")] == [
        "64", "96", "128", "16", "32", "32"]
    plt.close("all")


def test_vgg_cascade_of_3x3_saves_parameters():
    """Section 2.3: two 3x3 see 5x5 with 18 C^2 instead of 25 C^2 weights (28 % fewer), three
    see 7x7 with 27 C^2 instead of 49 C^2 (45 % fewer)."""
    from lecture21.interpret import receptive_fields
    from lecture21.models.vgg import cascade

    c = 16
    for layers, big in ((2, 5), (3, 7)):
        stack, single = cascade(layers, c), cascade(1, c, kernel=big)
        assert receptive_fields(stack)[-1].size == big == receptive_fields(single)[-1].size
        assert count_parameters(stack) == layers * 9 * c * c
        saving = 1 - count_parameters(stack) / count_parameters(single)
        assert round(saving, 2) == {2: 0.28, 3: 0.45}[layers]
    with pytest.raises(ValueError, match="kernel"):
        cascade(2, c, kernel=4)
