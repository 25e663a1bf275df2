"""The ResNet experiments' mechanics (lecture21.depth): gradient norms per layer and block
deletion (Veit et al. 2016), checked against networks rebuilt by hand."""

import copy
import math

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from lecture21 import depth, models, plots
from lecture21.models.resnet import ZeroPadShortcut
from lecture21.train import evaluate


def _net(name: str) -> nn.Module:
    torch.manual_seed(0)
    return models.create(name, "cifar", width=4).eval()


def test_gradient_norms_are_the_plain_paths_convolutions_in_order():
    x, y = torch.randn(8, 3, 32, 32), torch.arange(8) % 10
    for name in ("resnet20", "plain20", "highway20"):
        net = _net(name)
        norms = depth.layer_gradient_norms(net, x, y)
        assert len(norms) == 19, name  # the stem and 2 convolutions in each of 9 blocks
        assert list(norms)[:3] == ["conv1", "layer1.0.conv1", "layer1.0.conv2"]
        assert not net.training and all(p.grad is None for p in net.parameters())
    # the same number computed directly with autograd
    net = _net("resnet20").train()
    nn.functional.cross_entropy(net(x), y).backward()
    expected = net.layer2[0].conv2.weight.grad.norm().item()
    net.zero_grad(set_to_none=True)
    assert depth.layer_gradient_norms(net, x, y)["layer2.0.conv2"] == pytest.approx(expected)


def test_gradient_norms_reject_bad_input():
    with pytest.raises(ValueError, match="images"):
        depth.layer_gradient_norms(_net("resnet20"), torch.zeros(2, 3, 32, 32, dtype=torch.uint8),
                                   torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="labels"):
        depth.layer_gradient_norms(_net("resnet20"), torch.zeros(2, 3, 32, 32), torch.zeros(3))


def test_deleting_a_block_equals_the_network_rebuilt_without_it():
    x = torch.rand(4, 3, 32, 32)
    net = _net("resnet20")
    names = [n for n, _ in depth.blocks(net)]
    assert len(names) == 9 and names[3] == "layer2.0"
    by_hand = copy.deepcopy(net)
    by_hand.layer1[1] = nn.Identity()  # an identity block: Veit et al. keep only the shortcut
    by_hand.layer2[0] = ZeroPadShortcut(4, 8, 2)  # a downsampling one: its option-A shortcut
    with torch.no_grad(), depth.deleted_blocks(net, [1, 3]):
        deleted = net(x)
    with torch.no_grad():
        torch.testing.assert_close(deleted, by_hand(x))
        assert not torch.allclose(net(x), deleted)  # the hooks are gone afterwards
    plain = _net("plain20")
    rebuilt = copy.deepcopy(plain)
    rebuilt.layer3[2] = nn.Identity()
    with torch.no_grad(), depth.deleted_blocks(plain, [8]):
        torch.testing.assert_close(plain(x), rebuilt(x))
    with pytest.raises(ValueError, match="shape"), depth.deleted_blocks(plain, [3]):
        pass
    with pytest.raises(ValueError, match="indices"), depth.deleted_blocks(plain, [9]):
        pass


def test_deletion_accuracies():
    torch.manual_seed(1)
    images = torch.randint(0, 256, (20, 32, 32, 3), dtype=torch.uint8)
    labels = torch.arange(20) % 10
    net, plain = _net("resnet20"), _net("plain20")
    single = depth.block_deletion(net, images, labels)
    assert list(single) == [n for n, _ in depth.blocks(net)]
    assert len(depth.block_deletion(plain, images, labels)) == 7  # not the two downsampling ones
    draws = depth.random_deletion(net, images, labels, ks=(0, 2, 9), trials=2)
    assert draws[0] == [evaluate(net, images, labels)] and len(draws[2]) == 2
    with depth.deleted_blocks(net, list(range(9))):  # all blocks: every draw of k = 9 alike
        assert draws[9] == [evaluate(net, images, labels)] * 2
    with pytest.raises(ValueError, match="ks"):
        depth.random_deletion(plain, images, labels, ks=(8,))
    fig = plots.block_deletions({"resnet20": single}, {"resnet20": 0.1}, {"resnet20": draws})
    plt.close(fig)


def test_experiment_figures_reject_empty_input():
    for call in (lambda: plots.training_error({}), lambda: plots.gradient_norms({"a": {}}),
                 lambda: plots.block_deletions({}, {}, {})):
        with pytest.raises(ValueError):
            call()
    plt.close(plots.training_error({"plain20": [{"epoch": 1, "train_acc": 0.3}]}))


def test_deletion_loss_is_the_median_share_of_above_chance_accuracy():
    assert depth.deletion_loss(0.6, [0.1, 0.6, 0.5], 0.1) == pytest.approx(0.2)
    assert math.isnan(depth.deletion_loss(0.1, [0.1], 0.1))
    with pytest.raises(ValueError, match="deleted"):
        depth.deletion_loss(0.6, [], 0.1)
