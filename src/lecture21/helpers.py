"""Small helpers every room of the package uses, each written once (issue 9, item 4)."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from glob import escape as glob_escape
from pathlib import Path

import torch
from torch import nn

__all__ = ["atomic_write", "eval_mode", "minmax", "model_device"]


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode for the duration; every submodule's own mode restored afterwards, even on
    error (a model may be partly frozen in eval mode on purpose)."""
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        yield model
    finally:
        for module, mode in modes:
            module.training = mode


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer; the CPU for a model with neither."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


#: A temporary of ours untouched for this long belongs to a killed process (issue 11, item 2).
STALE_SECONDS = 3600.0


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """``write(temporary_path)`` into the folder of ``path``, then rename it to ``path``: a
    reader never sees half a file, and an interrupted write leaves nothing behind. Temporaries
    of ``path`` left by a killed process (our naming, untouched for :data:`STALE_SECONDS`; a
    concurrent writer's fresh one is kept) are deleted first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _remove_stale_temporaries(path: Path) -> None:
    """Delete ``<name>XXXXXXXX.tmp`` files (``tempfile.mkstemp``'s naming in
    :func:`atomic_write`) next to ``path`` that were not modified for :data:`STALE_SECONDS`."""
    ours = re.compile(re.escape(path.name) + r"[a-z0-9_]{8}\.tmp")
    now = time.time()
    for candidate in path.parent.glob(f"{glob_escape(path.name)}*.tmp"):
        try:
            if ours.fullmatch(candidate.name) and now - candidate.stat().st_mtime > STALE_SECONDS:
                candidate.unlink()
        except OSError:  # gone already (another writer cleaned it), or not ours to delete
            continue


def minmax(values: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Each item of the batch ``(B, ...)`` scaled to [0, 1] by its own minimum and maximum
    (a constant item becomes zeros)."""
    dims = tuple(range(1, values.ndim))
    low = values.amin(dim=dims, keepdim=True) if dims else values.min()
    shifted = values - low
    high = shifted.amax(dim=dims, keepdim=True) if dims else shifted.max()
    return shifted / (high + eps)
