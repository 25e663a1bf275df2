"""Occlusion analysis (Zeiler and Fergus, 2014), slide "Анализ закрасок".

Slide a grey (``baseline``) window over the image and record how much the class score drops;
a large drop means the covered region mattered for the decision.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lecture21.interpret.hooks import check_batch, check_target, explaining, model_device

__all__ = ["occlusion", "window_starts"]


def window_starts(size: int, window: int, stride: int) -> list[int]:
    """Window positions along one side: ``0, s, 2s, ...`` until the border is covered.

    The last window may stick out of the image and is then clipped (as captum does), so that
    every pixel is covered by at least one window.
    """
    return [i * stride for i in range(math.ceil((size - window) / stride) + 1)]


def occlusion(
    model: nn.Module,
    x: torch.Tensor,
    target: int | torch.Tensor,
    window: int = 8,
    stride: int = 4,
    baseline: float = 0.0,
    batch_size: int = 256,
) -> torch.Tensor:
    """Occlusion maps (B, H, W): the drop of the target logit when a window is set to ``baseline``.

    Each pixel gets the mean drop over the windows that cover it. All occluded copies of an
    image are evaluated on the model's device, ``batch_size`` at a time. Equal to captum's
    ``Occlusion`` with ``sliding_window_shapes=(C, window, window)``,
    ``strides=(C, stride, stride)`` (one channel of its result, which repeats over channels).
    """
    x = check_batch(x)
    for name, value in (("window", window), ("stride", stride), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    b, c, h, w = x.shape
    if window > min(h, w):
        raise ValueError(f"window must be at most the image side {min(h, w)}, got {window}")
    target = check_target(target, b)
    device = model_device(model)
    x = x.detach().to(device)
    ys, xs = window_starts(h, window, stride), window_starts(w, window, stride)
    # One boolean mask per window position: (P, H, W).
    masks = torch.zeros(len(ys) * len(xs), h, w, dtype=torch.bool, device=device)
    for i, (top, left) in enumerate((t, s) for t in ys for s in xs):
        masks[i, top : top + window, left : left + window] = True
    counts = masks.sum(0)
    maps = torch.zeros(b, h, w, device=device)
    with explaining(model), torch.no_grad():
        logits = model(x)
        if logits.ndim != 2:
            raise ValueError(
                f"the model must return logits (B, classes), got {tuple(logits.shape)}"
            )
        target = check_target(target, b, logits.shape[1]).to(device)
        base = logits.gather(1, target[:, None])[:, 0]
        # All (image, window) pairs in one flat index, cut into batches of occluded copies.
        pairs = b * len(masks)
        for start in range(0, pairs, batch_size):
            index = torch.arange(start, min(start + batch_size, pairs), device=device)
            image, position = index // len(masks), index % len(masks)
            mask = masks[position][:, None]
            occluded = torch.where(mask, torch.as_tensor(baseline, dtype=x.dtype), x[image])
            score = model(occluded).gather(1, target[image][:, None])[:, 0]
            drop = (base[image] - score)[:, None, None] * masks[position]
            maps.index_add_(0, image, drop)
    return (maps / counts).detach().cpu()
