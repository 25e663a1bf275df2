"""The one registry of the course's models: ``create(name, variant, num_classes, **options)``.

Every architecture file registers its builders with :func:`register`; notebooks and the training
command line only ever call :func:`create`, so a model is named the same way everywhere.

A family whose model equals an implementation nobody here wrote (torchvision, timm, pytorchcv)
declares it next to its builder as a :class:`Reference`: where its pretrained weights come
from and how a reference instance reads into our options. ``lecture21.pretrained`` does the
rest (see CONTRIBUTING.md, "An architecture with reference weights").
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

#: Number of classes of each variant's task when ``num_classes`` is not given (text: the n-gram
#: polarity task of notebook 02; audio: the ten spoken digits).
DEFAULT_CLASSES = {"cifar": 10, "imagenet": 1000, "text": 2, "audio": 10}


SOURCES = ("torchvision", "timm", "pytorchcv")


@dataclass(frozen=True)
class Reference:
    """An implementation nobody here wrote that one of our models equals (issue 9).

    ``source`` is ``"torchvision"``, ``"timm"`` or ``"pytorchcv"``; ``name`` the reference's
    builder name there (``"resnet50"``, ``"legacy_xception"``, ``"sqnxt23_w1"``). ``weights``
    names its pretrained weights: a timm pretrained tag (``"resnet50.a1_in1k"``), a torchvision
    weights enum (``"ResNet50_Weights.IMAGENET1K_V1"``), ``None`` for pytorchcv (its own store)
    or where there are none. ``options(reference_instance)`` reads the instance into the options
    of our builder (``None``: no options needed) -- facts are read, never assumed. ``rename``
    holds ``(regex, replacement)`` pairs applied in order to the reference's state-dict keys to
    give ours; ``build`` extra keyword arguments of the reference's builder; ``variant`` the
    variant of ours it equals.
    """

    source: str
    name: str
    weights: str | None = None
    options: Callable[[nn.Module], dict] | None = None
    rename: tuple[tuple[str, str], ...] = ()
    build: dict = field(default_factory=dict)
    variant: str = "imagenet"

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        if not self.name:
            raise ValueError("name must be the reference's builder name, got an empty string")


@dataclass(frozen=True)
class Entry:
    name: str
    builder: Callable[..., nn.Module]
    variants: tuple[str, ...]
    family: str
    references: tuple[Reference, ...] = ()

    def reference(self, source: str | None = None) -> Reference:
        """The declared reference from ``source`` (``None``: the first one with weights)."""
        if not self.references:
            raise ValueError(f"model {self.name!r} declares no reference implementation")
        if source is None:
            return next((r for r in self.references if r.weights), self.references[0])
        for reference in self.references:
            if reference.source == source:
                return reference
        sources = ", ".join(r.source for r in self.references)
        raise ValueError(f"source must be one of {sources} for {self.name!r}, got {source!r}")

    @property
    def options(self) -> list[str]:
        """Keyword options the builder accepts besides ``variant`` and ``num_classes``."""
        params = inspect.signature(self.builder).parameters
        return [p for p in params if p not in {"variant", "num_classes"}]


_REGISTRY: dict[str, Entry] = {}


def register(
    name: str,
    *,
    variants: tuple[str, ...] = ("cifar",),
    family: str | None = None,
    references: tuple[Reference, ...] = (),
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register ``builder(variant, num_classes, **options) -> nn.Module`` under ``name``.

    ``references``: the implementations our model equals, the first one with ``weights`` being
    the default source of pretrained weights (``lecture21.pretrained.load``).
    """
    references = tuple(references)
    for reference in references:
        if not isinstance(reference, Reference):
            raise ValueError(f"references must hold Reference objects, got {reference!r}")
        if reference.variant not in variants:
            raise ValueError(
                f"reference {reference.name!r} equals variant {reference.variant!r}, which "
                f"{name!r} does not have (its variants: {', '.join(variants)})"
            )

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model name {name!r} is registered twice")
        module_family = builder.__module__.rsplit(".", 1)[-1]
        _REGISTRY[name] = Entry(
            name, builder, tuple(variants), family or module_family, references
        )
        return builder

    return decorate


def available(family: str | None = None) -> list[str]:
    """Registered model names, optionally only those of one family (the file's name)."""
    return sorted(n for n, e in _REGISTRY.items() if family is None or e.family == family)


def with_references() -> list[str]:
    """Registered names that declare at least one reference implementation."""
    return sorted(n for n, e in _REGISTRY.items() if e.references)


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
