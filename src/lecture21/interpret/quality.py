"""How good is a map? Measures none of the libraries ships (issue item 3).

* pointing game (Zhang et al., 2018): is the map's maximum inside the object's mask?
* mass in mask: the share of the map's (non-negative) mass that falls inside the mask;
* deletion and insertion curves (Petsiuk et al., 2018): the class probability as pixels are
  removed (set to the baseline), or inserted into a blurred image, most salient first; a good
  map makes deletion fall fast (small area) and insertion rise fast (large area);
* model randomisation (Adebayo et al., 2018): re-initialise the top layers and compare the maps
  by Spearman rank correlation; a method whose maps barely change does not explain the model.
"""

from __future__ import annotations

import copy

import torch
import torchvision.transforms.v2.functional as TF
from torch import nn

from lecture21.interpret.hooks import check_batch, check_target, explaining, model_device

__all__ = [
    "area_under_curve",
    "deletion_insertion",
    "mass_in_mask",
    "pointing_game",
    "randomize_top_layers",
    "spearman",
]


def _check_maps(maps: torch.Tensor, masks: torch.Tensor) -> None:
    if maps.ndim != 3 or masks.shape != maps.shape:
        raise ValueError(
            f"maps and masks must both be (B, H, W), got {tuple(maps.shape)} and "
            f"{tuple(masks.shape)}"
        )


def pointing_game(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Bool (B,): the (first) maximum of each map lies inside its mask."""
    _check_maps(maps, masks)
    best = maps.flatten(1).argmax(1)
    return masks.flatten(1).bool().gather(1, best[:, None].to(masks.device))[:, 0]


def mass_in_mask(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Share (B,) of each map's mass inside its mask; negative values count as zero."""
    _check_maps(maps, masks)
    positive = maps.clamp(min=0).flatten(1)
    inside = (positive * masks.flatten(1).to(positive)).sum(1)
    return inside / positive.sum(1).clamp_min(1e-12)


def area_under_curve(curves: torch.Tensor) -> torch.Tensor:
    """Trapezoid area (B,) of curves (B, S+1) sampled evenly on [0, 1]."""
    return torch.trapezoid(curves, dx=1.0 / (curves.shape[1] - 1), dim=1)


def deletion_insertion(
    model: nn.Module,
    x: torch.Tensor,
    target: int | torch.Tensor,
    maps: torch.Tensor,
    steps: int = 16,
    baseline: float = 0.0,
    blur_sigma: float = 4.0,
    batch_size: int = 256,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Deletion and insertion curves (B, steps + 1) of the target's softmax probability.

    Pixels are ranked by the map (B, H, W), most important first. Deletion sets the first
    ``t / steps`` of them to ``baseline``; insertion starts from the image blurred with
    ``blur_sigma`` and puts the original pixels back in the same order (Petsiuk et al., 2018).
    """
    x = check_batch(x)
    if maps.shape != (x.shape[0], *x.shape[2:]) or not bool(torch.isfinite(maps).all()):
        raise ValueError(
            f"maps must be finite (B, H, W) for x (B, C, H, W), got {tuple(maps.shape)} and "
            f"{tuple(x.shape)}"
        )
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    b, _, h, w = x.shape
    target = check_target(target, b)
    device = model_device(model)
    x, maps = x.detach().to(device), maps.detach().to(device)
    order = maps.flatten(1).argsort(1, descending=True)
    rank = torch.empty_like(order).scatter_(
        1, order, torch.arange(h * w, device=device).expand(b, -1)
    ).view(b, 1, h, w)
    # An odd kernel of +-3 sigma, no wider than reflection padding allows.
    kernel = min(2 * int(3 * blur_sigma + 0.5) + 1, 2 * min(h, w) - 1)
    blurred = TF.gaussian_blur(x, [kernel, kernel], [blur_sigma, blur_sigma])
    fractions = torch.linspace(0, 1, steps + 1, device=device)
    counts = (fractions * h * w).round().long()
    curves = {}
    with explaining(model), torch.no_grad():
        for kind in ("deletion", "insertion"):
            probabilities = []
            for count in counts:
                chosen = rank < count  # the `count` most important pixels
                if kind == "deletion":
                    image = torch.where(chosen, torch.as_tensor(baseline, dtype=x.dtype), x)
                else:
                    image = torch.where(chosen, x, blurred)
                logits = torch.cat([model(part) for part in image.split(batch_size)])
                target_d = check_target(target, b, logits.shape[1]).to(device)
                probabilities.append(logits.softmax(1).gather(1, target_d[:, None])[:, 0])
            curves[kind] = torch.stack(probabilities, 1).cpu()
    return curves["deletion"], curves["insertion"]


def _ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks along the last dimension, ties given their average rank (as scipy does)."""
    order = values.argsort(-1)
    sorted_values = values.gather(-1, order)
    positions = torch.arange(values.shape[-1], dtype=torch.float64).expand_as(values)
    ranks = torch.empty_like(positions)
    for row in range(values.shape[0]):
        # Average the positions within each run of equal values.
        _, inverse, counts = torch.unique_consecutive(
            sorted_values[row], return_inverse=True, return_counts=True
        )
        ends = counts.cumsum(0).double()
        mean_position = ends - (counts.double() + 1) / 2
        ranks[row, order[row]] = mean_position[inverse]
    return ranks


def spearman(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman rank correlation (B,) between maps ``a`` and ``b`` (B, ...), per sample."""
    if a.shape != b.shape or a.ndim < 2:
        raise ValueError(f"a and b must have the same shape (B, ...), got {a.shape}, {b.shape}")
    ra, rb = _ranks(a.detach().flatten(1).cpu()), _ranks(b.detach().flatten(1).cpu())
    ra, rb = ra - ra.mean(1, keepdim=True), rb - rb.mean(1, keepdim=True)
    return (ra * rb).sum(1) / (ra.norm(dim=1) * rb.norm(dim=1)).clamp_min(1e-12)


def randomize_top_layers(model: nn.Module, count: int, seed: int = 0) -> nn.Module:
    """A copy of ``model`` whose last ``count`` layers with parameters are re-initialised.

    "Cascading randomisation" from the top (Adebayo et al., 2018): layers are taken in
    registration order, which for the course's models is the order they run; each is reset
    with its own ``reset_parameters``.
    """
    layers = [m for m in model.modules() if hasattr(m, "reset_parameters")
              and any(True for _ in m.parameters(recurse=False))]
    if not isinstance(count, int) or not 1 <= count <= len(layers):
        raise ValueError(f"count must be an int in [1, {len(layers)}], got {count!r}")
    clone = copy.deepcopy(model)
    clone_layers = [m for m in clone.modules() if hasattr(m, "reset_parameters")
                    and any(True for _ in m.parameters(recurse=False))]
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for layer in clone_layers[-count:]:
            layer.reset_parameters()
    finally:
        torch.random.set_rng_state(generator_state)
    return clone
