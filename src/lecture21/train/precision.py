"""Which floating-point precision a device trains in (issue 16), and the two objects it needs.

Mixed precision (Micikevicius et al., "Mixed Precision Training", ICLR 2018) runs the
convolutions and matrix products in 16 bits and keeps the weights, the optimizer and the loss in
float32. The slide "Обучение CNN" trains on a GPU; which 16-bit type a GPU has decides the rest:

* ``bf16`` -- bfloat16 autocast, on CUDA GPUs of compute capability 8.0 and newer (Ampere, Ada,
  Hopper, ...). bfloat16 has float32's exponent range, so gradients do not underflow and no loss
  scaling is needed.
* ``fp16`` -- float16 autocast with a ``torch.amp.GradScaler``, on CUDA GPUs without bfloat16
  units: Colab's free T4 is Turing, compute capability 7.5 (its tensor cores do float16). float16's
  smallest normal number is 6e-5, so small gradients would flush to zero: the scaler multiplies
  the loss by a large factor before ``backward`` and divides the gradients by it before the
  optimizer step, skipping steps whose gradients overflowed (dynamic loss scaling, ibid.).
* ``fp32`` -- no autocast, on the CPU (autocast there would only emulate 16-bit arithmetic, more
  slowly) and on Apple's GPU (``mps``). torch 2.14 accepts float16 and bfloat16 autocast on
  ``mps`` and its ``GradScaler`` has an ``mps`` path, but neither has been run by this project:
  ``LECTURE21_PRECISION=fp16`` tries it on a Mac (not verified here).

``LECTURE21_PRECISION`` (or the ``name`` argument) overrides the choice: ``auto`` (default),
``bf16``, ``fp16`` or ``fp32``. Forcing ``fp16`` or ``bf16`` on the CPU runs CPU autocast, which
is how the float16 + GradScaler path is tested without a GPU.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch

__all__ = ["PRECISIONS", "PRECISION_ENV", "Precision", "autocast", "choose_precision",
           "make_scaler"]

PRECISION_ENV = "LECTURE21_PRECISION"


@dataclass(frozen=True)
class Precision:
    """A training precision: its name, the autocast dtype (``None``: no autocast, float32) and
    whether the loss must be scaled (float16 only)."""

    name: str
    autocast_dtype: torch.dtype | None
    needs_scaler: bool


PRECISIONS: dict[str, Precision] = {
    "bf16": Precision("bf16", torch.bfloat16, needs_scaler=False),
    "fp16": Precision("fp16", torch.float16, needs_scaler=True),
    "fp32": Precision("fp32", None, needs_scaler=False),
}


def cuda_has_bf16(device: torch.device) -> bool:
    """True on CUDA devices of compute capability >= 8.0 (Ampere and newer) and on ROCm.

    Not ``torch.cuda.is_bf16_supported()``: by default it also answers True on older GPUs that
    only *emulate* bfloat16 (a T4 among them), where it is slower than float16.
    """
    if torch.version.hip:
        return True
    return torch.cuda.get_device_capability(device) >= (8, 0)


def choose_precision(
    device: torch.device | str, name: str | Precision | None = None
) -> Precision:
    """The precision for ``device``: ``name``, else ``$LECTURE21_PRECISION``, else ``auto``.

    ``auto`` is ``bf16`` on CUDA with bfloat16 units, ``fp16`` on other CUDA GPUs, ``fp32`` on
    the CPU and on ``mps``. Asking for ``bf16`` on a CUDA GPU without bfloat16 units is an error.
    """
    if isinstance(name, Precision):
        return name
    device = torch.device(device)
    chosen = (name or os.environ.get(PRECISION_ENV) or "auto").strip().lower()
    if chosen == "auto":
        if device.type == "cuda":
            chosen = "bf16" if cuda_has_bf16(device) else "fp16"
        else:
            chosen = "fp32"
    if chosen not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {sorted(PRECISIONS) + ['auto']} "
            f"(argument or ${PRECISION_ENV}), got {chosen!r}"
        )
    if chosen == "bf16" and device.type == "cuda" and not cuda_has_bf16(device):
        capability = ".".join(map(str, torch.cuda.get_device_capability(device)))
        raise ValueError(
            f"precision 'bf16' needs a GPU of compute capability >= 8.0, {device} has "
            f"{capability}: use 'fp16' or 'auto'"
        )
    return PRECISIONS[chosen]


def autocast(device: torch.device | str, precision: Precision | str | None = None):
    """A context in which the forward pass runs in ``precision`` (nothing at all for fp32)."""
    device = torch.device(device)
    precision = choose_precision(device, precision)
    if precision.autocast_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=precision.autocast_dtype)


def make_scaler(
    device: torch.device | str, precision: Precision | str | None = None
) -> torch.amp.GradScaler:
    """A ``GradScaler`` for ``device``, enabled only when ``precision`` needs one (fp16).

    A disabled scaler is a pass-through: ``scale(loss)`` is ``loss``, ``step(optimizer)`` is
    ``optimizer.step()``, ``update()`` does nothing, so fp32 and bf16 training is unchanged.
    """
    device = torch.device(device)
    precision = choose_precision(device, precision)
    return torch.amp.GradScaler(device.type, enabled=precision.needs_scaler)
