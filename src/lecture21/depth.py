"""Experiments of the ResNet slides: how gradients and trained networks behave with depth.

* :func:`layer_gradient_norms` -- slide "Проблема глубоких сетей": the norm of the loss gradient
  of every convolution, input to output, at initialisation (He et al. 2016, section 4.1 on
  plain nets; Srivastava et al. 2015 for highway networks);
* :func:`deleted_blocks`, :func:`block_deletion`, :func:`random_deletion` -- slide "Преимущества
  ResNet": Veit, Wilber, Belongie, "Residual Networks Behave Like Ensembles of Relatively
  Shallow Networks" (NIPS 2016), figures 3 and 5: delete blocks of a *trained* network at test
  time and measure the accuracy left.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from lecture21.models.highway import HighwayBlock
from lecture21.models.resnet import ResidualBlock
from lecture21.train.evaluation import evaluate

__all__ = ["block_deletion", "blocks", "deletable", "deleted_blocks", "deletion_loss",
           "layer_gradient_norms", "random_deletion"]


def layer_gradient_norms(model: nn.Module, images: torch.Tensor, labels: torch.Tensor
                         ) -> dict[str, float]:
    """``{name: ||dL/dW||}`` of every convolution of ``model`` in the order they run, for one
    cross-entropy loss on ``images`` (float, normalised) and ``labels``. The shortcut
    projections and the highway gates are left out: only the layers of the plain path. The
    model's mode and gradients are restored."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or not images.is_floating_point():
        raise ValueError("images must be a float tensor of shape (N, C, H, W)")
    if not isinstance(labels, torch.Tensor) or labels.shape != images.shape[:1]:
        raise ValueError(f"labels must be a tensor of shape ({len(images)},)")
    skipped = {id(m) for block in model.modules() if isinstance(block, HighwayBlock)
               for m in block.gate.modules()}
    skipped |= {id(m) for block in model.modules() if isinstance(block, ResidualBlock)
                and block.downsample is not None for m in block.downsample.modules()}
    order: list[tuple[str, nn.Conv2d]] = []
    handles = [module.register_forward_hook(lambda m, i, o, name=name: order.append((name, m)))
               for name, module in model.named_modules()
               if isinstance(module, nn.Conv2d) and id(module) not in skipped]
    saved = {name: p.grad for name, p in model.named_parameters()}
    training = model.training
    try:
        model.train()  # batch statistics, as in the first training step
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(images), labels).backward()
        return {name: conv.weight.grad.norm().item() for name, conv in order}
    finally:
        for handle in handles:
            handle.remove()
        for name, p in model.named_parameters():
            p.grad = saved[name]
        model.train(training)


def blocks(model: nn.Module) -> list[tuple[str, ResidualBlock]]:
    """The residual (or plain) blocks of ``model``, input to output, with their names."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, ResidualBlock)]


def deletable(block: ResidualBlock) -> bool:
    """Whether ``block`` can be removed: a residual block always (its shortcut stays), a plain
    block only where it keeps the shape of its input (stride 1, as many channels out as in)."""
    if block.residual:
        return True
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    return all(c.stride == (1, 1) for c in convs) and convs[0].in_channels == convs[-1].out_channels


@contextmanager
def deleted_blocks(model: nn.Module, indices: Sequence[int]) -> Iterator[nn.Module]:
    """``model`` with the blocks at ``indices`` (of :func:`blocks`) deleted: a residual block
    outputs its shortcut only (``relu(shortcut(x))``: the identity on the non-negative input of
    a post-activation block, Veit et al.'s deletion), a plain block its input. Hooks are
    removed on exit."""
    found = blocks(model)
    handles = []
    try:
        for index in indices:
            if not isinstance(index, int) or not 0 <= index < len(found):
                raise ValueError(f"indices must be ints in [0, {len(found)}), got {index!r}")
            name, block = found[index]
            if not deletable(block):
                raise ValueError(f"block {name} changes the shape of its input: a plain network "
                                 "cannot skip it")
            handles.append(block.register_forward_hook(_skip))
        yield model
    finally:
        for handle in handles:
            handle.remove()


def _skip(block: ResidualBlock, inputs: tuple[torch.Tensor], output: torch.Tensor):
    x = inputs[0]
    return torch.relu(block.shortcut(x)) if block.residual else x


def block_deletion(model: nn.Module, images: torch.Tensor, labels: torch.Tensor
                   ) -> dict[str, float]:
    """Test accuracy of ``model`` with each deletable block deleted alone (Veit et al.,
    figure 3), ``{block name: accuracy}``; ``images`` are uint8 (N, H, W, C) as stored."""
    model.eval()
    return {name: _accuracy(model, [i], images, labels)
            for i, (name, block) in enumerate(blocks(model)) if deletable(block)}


def random_deletion(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                    ks: Sequence[int], trials: int = 3, seed: int = 0) -> dict[int, list[float]]:
    """Test accuracies after deleting ``k`` random deletable blocks at once, ``trials`` draws
    per ``k`` (Veit et al., figure 5a): ``{k: [accuracy, ...]}``."""
    if not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be a positive int, got {trials!r}")
    candidates = [i for i, (_, block) in enumerate(blocks(model)) if deletable(block)]
    if any(not isinstance(k, int) or not 0 <= k <= len(candidates) for k in ks):
        raise ValueError(f"ks must be ints in [0, {len(candidates)}], got {list(ks)!r}")
    generator = torch.Generator().manual_seed(seed)
    model.eval()
    return {k: [_accuracy(model, [candidates[j] for j in
                                  torch.randperm(len(candidates), generator=generator)[:k]],
                          images, labels) for _ in range(trials if k else 1)] for k in ks}


def deletion_loss(intact: float, deleted: Sequence[float], chance: float) -> float:
    """The median share of the above-chance accuracy that one deletion removes:
    ``median((intact - a) / (intact - chance))`` over ``deleted`` accuracies (1: down to
    chance, 0: nothing lost); NaN when the intact network is not above chance."""
    if not deleted:
        raise ValueError("deleted must give at least one accuracy")
    if not intact > chance:
        return float("nan")
    return float(torch.tensor([(intact - a) / (intact - chance) for a in deleted]).median())


def _accuracy(model: nn.Module, indices: list[int], images: torch.Tensor,
              labels: torch.Tensor) -> float:
    with deleted_blocks(model, indices):
        return evaluate(model, images, labels)
