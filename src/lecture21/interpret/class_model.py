"""Class-model visualisation (Simonyan et al., 2013), slide "Визуализация изображения класса".

Find the image that the network scores highest for class c:
``x* = argmax_x S_c(x) - lambda ||x||^2``, by gradient ascent on the input from a zero image.
The L2 penalty alone gives high-frequency patterns; the two regularisers people add since
(random jitter of the image between steps, and a Gaussian blur every few steps; Yosinski et al.,
2015) make the result easier to read. The notebook compares the three.
"""

from __future__ import annotations

import torch
import torchvision.transforms.v2.functional as TF
from torch import nn

from lecture21.interpret.hooks import check_target, explaining, model_device

__all__ = ["class_model"]


def class_model(
    model: nn.Module,
    target: int | torch.Tensor,
    steps: int = 200,
    lr: float = 1.0,
    l2: float = 1e-2,
    *,
    shape: tuple[int, int, int] = (3, 32, 32),
    jitter: int = 0,
    blur_every: int = 0,
    blur_sigma: float = 0.5,
    seed: int = 0,
) -> torch.Tensor:
    """Images (B, C, H, W) in the model's input space maximising ``S_c(x) - l2 ||x||^2``.

    ``target`` is a class or a LongTensor of classes (one image each). Plain gradient ascent,
    ``x <- x + lr * grad``. ``jitter`` > 0 rolls the image by up to that many pixels before each
    step (and back after); ``blur_every`` > 0 blurs it with a Gaussian of ``blur_sigma`` every
    that many steps.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if lr <= 0 or l2 < 0:
        raise ValueError(f"lr must be positive and l2 non-negative, got lr={lr!r}, l2={l2!r}")
    if jitter < 0 or blur_every < 0:
        raise ValueError(f"jitter and blur_every must be >= 0, got {jitter!r}, {blur_every!r}")
    if len(shape) != 3:
        raise ValueError(f"shape must be (C, H, W), got {shape!r}")
    batch = len(target) if isinstance(target, torch.Tensor) and target.ndim == 1 else 1
    target = check_target(target, batch)
    device = model_device(model)
    generator = torch.Generator().manual_seed(seed)
    x = torch.zeros(batch, *shape, device=device)
    kernel = 2 * int(3 * blur_sigma + 0.5) + 1
    with explaining(model):
        for step in range(steps):
            dy, dx = (torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
                      if jitter else (0, 0))
            x = torch.roll(x, (dy, dx), dims=(2, 3)).detach().requires_grad_(True)
            logits = model(x)
            if step == 0:
                target = check_target(target, batch, logits.shape[1]).to(device)
            objective = logits.gather(1, target[:, None]).sum() - l2 * (x**2).sum()
            (grad,) = torch.autograd.grad(objective, x)
            x = torch.roll(x.detach() + lr * grad, (-dy, -dx), dims=(2, 3))
            if blur_every and (step + 1) % blur_every == 0:
                x = TF.gaussian_blur(x, [kernel, kernel], [blur_sigma, blur_sigma])
    return x
