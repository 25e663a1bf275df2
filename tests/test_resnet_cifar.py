"""The paper's CIFAR-10 ResNets and plain networks (table 6) and stochastic depth."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lecture21 import pretrained
from lecture21.measure import count_parameters
from lecture21.models import available, create
from lecture21.models.resnet import BasicBlock, ResidualBlock, ZeroPadShortcut
from lecture21.models.resnet_cifar import PAPER_PARAMETERS
from lecture21.models.stochastic_depth import apply_stochastic_depth, linear_decay

torch.set_num_threads(1)

#: Parameters we count, printed by akamaster/pytorch_resnet_cifar10 for the same networks too.
MEASURED = {20: 269_722, 32: 464_154, 44: 658_586, 56: 853_018, 110: 1_727_962}


def test_registered():
    names = {f"resnet{d}" for d in MEASURED} | {f"plain{d}" for d in (20, 32, 44, 56)}
    assert names <= set(available())


@pytest.mark.parametrize("depth", sorted(MEASURED))
def test_parameters_match_table_6(depth):
    """Table 6 prints 0.27 M ... 1.7 M: equal after rounding to the digits the paper prints."""
    with torch.device("meta"):
        model = create(f"resnet{depth}")
    count = count_parameters(model)
    assert count == MEASURED[depth]
    digits = 1 if depth == 110 else 2
    assert round(count / 1e6, digits) == PAPER_PARAMETERS[depth] / 1e6
    weighted = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert len(weighted) == depth  # 6n + 2 layers: option A adds no convolution
    if depth in (20, 32, 44, 56):
        with torch.device("meta"):
            plain = create(f"plain{depth}")
        assert count_parameters(plain) == count
        assert all(b.downsample is None and not b.residual for b in plain.residual_blocks())


@pytest.mark.parametrize("depth", [20, 56, 110])
def test_option_b_equals_pytorchcv(depth):
    """pytorchcv's CIFAR ResNets are the paper's layout with option B (projection) shortcuts:
    filled from a random one (layers paired in order, kinds checked), ours computes the same."""
    torch.manual_seed(0)
    reference = pretrained.reference_model(f"resnet{depth}")
    ours = pretrained.from_reference(f"resnet{depth}", reference)
    assert {type(b.downsample).__name__ for b in ours.residual_blocks()} == {"NoneType",
                                                                             "Sequential"}
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = reference(x)
        scale = expected.abs().max()
        torch.testing.assert_close(ours(x) / scale, expected / scale, rtol=1e-5, atol=1e-5)
    # option B adds the two projections' 1x1 conv-BN: 16*32 + 2*32 + 32*64 + 2*64 weights
    assert count_parameters(ours) == MEASURED[depth] + 16 * 32 + 64 + 32 * 64 + 128


def test_stages_and_shortcuts():
    model = create("resnet20")
    blocks = model.residual_blocks()
    assert len(blocks) == 9 and all(isinstance(b, BasicBlock) for b in blocks)
    assert [isinstance(b.downsample, ZeroPadShortcut) for b in blocks] == [
        False, False, False, True, False, False, True, False, False]
    sides = []
    hooks = [getattr(model, f"layer{i}").register_forward_hook(
        lambda m, i, o: sides.append(tuple(o.shape[1:]))) for i in (1, 2, 3)]
    try:
        with torch.no_grad():
            out = model.eval()(torch.randn(2, 3, 32, 32))
    finally:
        for hook in hooks:
            hook.remove()
    assert out.shape == (2, 10)
    assert sides == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]


def test_plain_and_residual_share_weights_but_not_functions():
    torch.manual_seed(0)
    residual, plain = create("resnet20").eval(), create("plain20").eval()
    plain.load_state_dict(residual.state_dict())  # identical names: option A has no weights
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(residual(x), plain(x))
        block = residual.layer1[0]
        h = torch.relu(torch.randn(2, 16, 8, 8))
        torch.testing.assert_close(block(h), torch.relu(block.branch(h) + h))
        torch.testing.assert_close(plain.layer1[0](h), torch.relu(plain.layer1[0].branch(h)))


def test_zero_init_residual_makes_each_block_the_identity():
    model = create("resnet20", zero_init_residual=True).train()
    h = torch.relu(torch.randn(4, 16, 8, 8))
    torch.testing.assert_close(model.layer1[1](h), h)
    with pytest.raises(ValueError, match="zero_init_residual needs shortcuts"):
        from lecture21.models.resnet_cifar import cifar_resnet

        cifar_resnet(20, residual=False, zero_init_residual=True)


# ---- stochastic depth (Huang et al. 2016) ---------------------------------------------------


def test_linear_decay_rule():
    """Eq. 4: p_l = 1 - l / L (1 - p_L); ResNet-110 has L = 54 blocks, p_L = 0.5."""
    probabilities = linear_decay(54, 0.5)
    assert probabilities[-1] == 0.5 and probabilities[0] == pytest.approx(1 - 0.5 / 54)
    assert all(a > b for a, b in zip(probabilities, probabilities[1:], strict=False))
    model = create("resnet110", stochastic_depth=0.5)
    assert [b.survival for b in model.residual_blocks()] == probabilities
    # expected blocks run per step: sum p_l = L - (1 - p_L)(L + 1) / 2 = 40.25 of 54 (the
    # paper: "an expected depth of about 40 ResBlocks", a ~25 % shorter training step)
    assert sum(probabilities) == pytest.approx(40.25)
    with pytest.raises(ValueError, match="p_L"):
        linear_decay(3, 0.0)
    with pytest.raises(ValueError, match="stochastic_depth needs shortcuts"):
        from lecture21.models.resnet_cifar import cifar_resnet

        cifar_resnet(20, residual=False, stochastic_depth=0.5)
    with pytest.raises(ValueError, match="no residual blocks"):
        apply_stochastic_depth(nn.Sequential(nn.Linear(2, 2)))


def _count_calls(modules: list[nn.Module]) -> tuple[list[int], list]:
    counts = [0] * len(modules)

    def hook(index):
        def count(module, inputs, output):
            counts[index] += 1

        return count

    handles = [m.register_forward_hook(hook(i)) for i, m in enumerate(modules)]
    return counts, handles


def test_a_dropped_block_costs_no_compute():
    """A block whose coin says "drop" never runs its convolutions (forward hooks count calls)
    and its weights get no gradient; the kept ones do."""
    torch.manual_seed(0)
    model = create("resnet20", stochastic_depth=0.5).train()
    blocks = model.residual_blocks()
    blocks[3].survival = 0.0   # always dropped (stride 2: its option-A shortcut still runs)
    blocks[1].survival = 1.0   # always kept
    convs = [b.conv1 for b in blocks]
    counts, handles = _count_calls(convs)
    try:
        steps = 24
        for _ in range(steps):
            model.zero_grad()
            F.cross_entropy(model(torch.randn(2, 3, 32, 32)), torch.tensor([0, 1])).backward()
            assert blocks[3].conv1.weight.grad is None
            assert blocks[1].conv1.weight.grad is not None
    finally:
        for handle in handles:
            handle.remove()
    assert counts[3] == 0 and counts[1] == steps
    # the last block survives with p = 0.5: dropped in roughly half of the steps, not in all
    assert 5 <= counts[-1] <= 19  # seeded; P(outside) = 0.2 % for a fair coin
    assert counts[0] > counts[-1]


def test_eval_runs_every_block_scaled_by_its_survival_probability():
    """At test time H = relu(p F(x) + shortcut(x)): the expectation over the training-time
    coin of the pre-activation, which is what eq. 5 of the paper computes."""
    torch.manual_seed(0)
    model = create("resnet20", stochastic_depth=0.5).eval()
    blocks = model.residual_blocks()
    counts, handles = _count_calls([b.conv1 for b in blocks])
    x = torch.randn(2, 3, 32, 32)
    try:
        with torch.no_grad():
            model(x)
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    assert counts == [2] * 9  # deterministic: every block, every time
    block = blocks[3]  # stride 2, option A shortcut
    p = block.survival
    assert p == pytest.approx(1 - 4 / 9 * 0.5)
    h = torch.relu(torch.randn(2, 16, 16, 16))
    with torch.no_grad():
        kept, dropped = block.branch(h) + block.shortcut(h), block.shortcut(h)
        expectation = p * kept + (1 - p) * dropped
        torch.testing.assert_close(block(h), torch.relu(expectation), rtol=1e-6, atol=1e-6)
        # the same block without stochastic depth is the unscaled one
        block.survival = 1.0
        torch.testing.assert_close(block(h), torch.relu(kept), rtol=1e-6, atol=1e-6)


def test_residual_block_is_the_common_base():
    for name in ("resnet18", "resnet56", "resnext29"):
        with torch.device("meta"):
            model = create(name)
        assert all(isinstance(b, ResidualBlock) for b in model.residual_blocks())
