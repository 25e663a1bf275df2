"""The one data protocol of the course: images, audio, text and plain tensors alike.

Every data set is a :class:`Dataset`: ``train_x``, ``train_y``, ``test_x``, ``test_y`` (inputs
and int64 labels), ``classes``, ``source`` (in Russian), ``synthetic`` and ``notice`` (why a
built-in set replaced the real one), with ``num_classes``, ``title`` and a seeded ``subset``.
A kind of data adds its own per-example fields named ``train_<what>`` / ``test_<what>`` (image
masks, recording lengths, speakers, sentences): ``subset`` keeps them aligned. ``fit``,
``evaluate`` and the notebooks use every kind the same way.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, fields, replace
from typing import ClassVar

import torch

SYNTHETIC_LABEL = "синтетические данные"

__all__ = ["SYNTHETIC_LABEL", "Dataset", "TensorData", "check_labels", "subset_index"]


@dataclass(frozen=True)
class Dataset:
    """A train/test split; see the module docstring for the protocol."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]
    _: KW_ONLY
    source: str = "tensors"
    synthetic: bool = False
    notice: str | None = None

    #: Whether ``fit`` augments the inputs (random crops and flips of uint8 NHWC images).
    augmented: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if len(self.classes) < 1:
            raise ValueError("classes must name at least one class")
        for split in ("train", "test"):
            x, y = getattr(self, f"{split}_x"), getattr(self, f"{split}_y")
            if not isinstance(x, torch.Tensor) or x.ndim < 1:
                raise ValueError(f"{split}_x must be a tensor (N, ...), got {type(x).__name__}")
            if len(x) == 0:
                raise ValueError(f"{split}_x is empty: a data set needs at least one example")
            check_labels(y, len(x), self.num_classes, f"{split}_y")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def title(self, text: str) -> str:
        """A results title that says so when the data are synthetic."""
        return f"{text} ({SYNTHETIC_LABEL})" if self.synthetic else text

    def subset(self, train_size: int | None, test_size: int | None, seed: int = 0) -> Dataset:
        """A seeded random subset (repeatable); ``None`` keeps a split whole. Every per-example
        field of a split (``train_*`` / ``test_*``: tensors or tuples) is indexed alike."""
        generator = torch.Generator().manual_seed(seed)
        parts: dict[str, object] = {}
        for split, size in (("train", train_size), ("test", test_size)):
            index = subset_index(len(getattr(self, f"{split}_y")), size, generator,
                                 f"{split}_size")
            for item in fields(self):
                value = getattr(self, item.name)
                if not item.name.startswith(f"{split}_") or value is None:
                    continue
                if isinstance(value, torch.Tensor):
                    parts[item.name] = value[index]
                else:
                    parts[item.name] = tuple(value[i] for i in index.tolist())
        return replace(self, **parts)


@dataclass(frozen=True)
class TensorData(Dataset):
    """Inputs that go to the model as they are (token ids, spectrograms, vectors; uint8 NHWC
    tensors are normalised as images), without augmentation."""


def subset_index(
    total: int, size: int | None, generator: torch.Generator, name: str
) -> torch.Tensor:
    """Sorted indices of a seeded random subset of ``size`` out of ``total`` (None: all)."""
    if size is None or (isinstance(size, int) and size >= total):
        return torch.arange(total)
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"{name} must be a positive int or None, got {size!r}")
    return torch.randperm(total, generator=generator)[:size].sort().values


def check_labels(labels: object, n: int, num_classes: int, name: str) -> None:
    """Raise ``ValueError`` unless ``labels`` are int64 ``(n,)`` in ``[0, num_classes)``."""
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64 or labels.ndim != 1:
        got = (f"{labels.dtype} tensor of shape {tuple(labels.shape)}"
               if isinstance(labels, torch.Tensor) else type(labels).__name__)
        raise ValueError(f"{name} must be an int64 tensor (N,), got {got}")
    if len(labels) != n:
        raise ValueError(f"{name} has {len(labels)} labels for {n} examples")
    if n and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{name} must lie in [0, {num_classes}), "
            f"got values from {int(labels.min())} to {int(labels.max())}"
        )
