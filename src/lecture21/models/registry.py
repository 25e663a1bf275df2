"""The one registry of the course's models: ``create(name, variant, num_classes, **options)``.

Every architecture file registers its builders with :func:`register`; notebooks and the training
command line only ever call :func:`create`, so a model is named the same way everywhere.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

#: Number of classes of each variant's task when ``num_classes`` is not given (text: the n-gram
#: polarity task of notebook 02; audio: the ten spoken digits).
DEFAULT_CLASSES = {"cifar": 10, "imagenet": 1000, "text": 2, "audio": 10}


@dataclass(frozen=True)
class Entry:
    name: str
    builder: Callable[..., nn.Module]
    variants: tuple[str, ...]
    family: str

    @property
    def options(self) -> list[str]:
        """Keyword options the builder accepts besides ``variant`` and ``num_classes``."""
        params = inspect.signature(self.builder).parameters
        return [p for p in params if p not in {"variant", "num_classes"}]


_REGISTRY: dict[str, Entry] = {}


def register(
    name: str, *, variants: tuple[str, ...] = ("cifar",), family: str | None = None
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register ``builder(variant, num_classes, **options) -> nn.Module`` under ``name``."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model name {name!r} is registered twice")
        module_family = builder.__module__.rsplit(".", 1)[-1]
        _REGISTRY[name] = Entry(name, builder, tuple(variants), family or module_family)
        return builder

    return decorate


def available(family: str | None = None) -> list[str]:
    """Registered model names, optionally only those of one family (the file's name)."""
    return sorted(n for n, e in _REGISTRY.items() if family is None or e.family == family)


def entry(name: str) -> Entry:
    """The registry entry of ``name``; a clear error for an unknown one."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown model name {name!r}; available: {', '.join(available())}")
    return _REGISTRY[name]


def create(
    name: str, variant: str = "cifar", num_classes: int | None = None, **options
) -> nn.Module:
    """Build a registered model.

    ``variant`` is ``"cifar"`` (32x32 inputs, the small version a notebook trains) or
    ``"imagenet"`` (the paper's configuration, 224x224 inputs) where the model has it.
    """
    found = entry(name)
    if variant not in found.variants:
        raise ValueError(
            f"model {name!r} has no variant {variant!r}; its variants: {', '.join(found.variants)}"
        )
    unknown = sorted(set(options) - set(found.options))
    if unknown:
        raise ValueError(
            f"model {name!r} has no option(s) {', '.join(unknown)}; "
            f"its options: {', '.join(found.options) or 'none'}"
        )
    if num_classes is None:
        num_classes = DEFAULT_CLASSES[variant]
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    return found.builder(variant=variant, num_classes=num_classes, **options)
