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

__all__ = ["atomic_write", "eval_mode", "minmax", "model_device", "source_excerpt"]


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


def source_excerpt(obj: object, first: str | None = None, last: str | None = None) -> str:
    """The source of ``obj`` without its docstring, or only the lines from the first one that
    contains ``first`` to the first one after it that contains ``last``, dedented, with a line
    saying where the whole code is: a slide shows the part that carries the idea.

    A marker that is not in the source is a ``ValueError``, so a notebook's excerpt cannot go
    silently stale when the code changes.
    """
    import inspect
    import textwrap

    lines, start = inspect.getsourcelines(obj)
    body = list(range(len(lines)))
    # Its own docstring only (inspect.getdoc would inherit nn.Module.forward's).
    if getattr(obj, "__doc__", None) and any('"""' in line for line in lines):
        opening = next(i for i, line in enumerate(lines) if '"""' in line)
        closing = opening if lines[opening].count('"""') == 2 else next(
            i for i in range(opening + 1, len(lines)) if '"""' in lines[i])
        body = [i for i in body if not opening <= i <= closing]
    if first is not None or last is not None:
        def find(marker: str, after: int) -> int:
            for i in body:
                if i >= after and marker in lines[i]:
                    return i
            raise ValueError(f"marker {marker!r} is not in the source of {obj!r} after line "
                             f"{start + after}")

        lo = find(first, 0) if first is not None else body[0]
        hi = find(last, lo) if last is not None else body[-1]
        body = [i for i in body if lo <= i <= hi]
    text = textwrap.dedent("".join(lines[i] for i in body)).rstrip()
    module = inspect.getmodule(obj)
    where = module.__name__.replace(".", "/") + ".py" if module else "?"
    return (f"{text}\n# ... {where}, строки {start + body[0]}–{start + body[-1]} "
            f"из {start}–{start + len(lines) - 1}")
