"""Pretrained ImageNet weights: timm / torchvision models, and their weights in our own models.

* :func:`timm_model` -- a timm model with its official weights and the preprocessing they
  expect (mean, std, input size), for the interpretation notebooks.
* :func:`reference_model` / :func:`from_reference` -- the reference implementation a model file
  declares (``Reference`` in ``lecture21.models.registry``), and our model configured like a
  reference instance and filled with its tensors (``convert.py``).
* :func:`load` -- the official weights of a model's declared reference in our model, with the
  preprocessing.

Where the files are looked for and when the network is tried: ``weights.py``. Without a network
every loader raises one :class:`WeightsUnavailable` with one short Russian line, at once under
``HF_HUB_OFFLINE=1`` and within two seconds otherwise; ``make weights`` (``python -m
lecture21.pretrained``) fetches every file the book uses into the weights folder beforehand.
"""

from __future__ import annotations

import os

from torch import nn

from lecture21.config import WEIGHTS_ENV, weights_dir
from lecture21.models.registry import entry
from lecture21.pretrained import weights as files
from lecture21.pretrained.convert import (
    build_filled,
    from_reference,
    paired_state_dict,
    reference_model,
)
from lecture21.pretrained.preprocessing import IMAGENET_PREPROCESSING, Preprocessing
from lecture21.pretrained.weights import WeightsUnavailable

__all__ = [
    "IMAGENET_PREPROCESSING",
    "WEIGHTS_ENV",
    "Preprocessing",
    "WeightsUnavailable",
    "from_reference",
    "load",
    "paired_state_dict",
    "reference_model",
    "timm_model",
    "weights_dir",
]


def timm_model(
    name: str, weights_path: str | os.PathLike | None = None, **kwargs
) -> tuple[nn.Module, Preprocessing]:
    """A timm model with pretrained weights, in eval mode, and the preprocessing they expect.

    ``name`` is a timm model name (``"resnet50.a1_in1k"``, ``"vgg16.tv_in1k"``). The weights come
    from ``weights_path``, else the weights folder (``<name>.pth`` or timm's cache there), else
    timm's own cache, else a download. Raises :class:`WeightsUnavailable` when none of these
    works, ``ValueError`` for a name timm does not know.
    """
    import timm

    if not isinstance(name, str) or not timm.is_model(name.split(".")[0]):
        raise ValueError(f"name must be a timm model name such as 'resnet50', got {name!r}")
    local = files.local_file((name,), weights_path)
    if local is not None:
        state = files.read_state_dict(local)
        model = build_filled(lambda: timm.create_model(name, pretrained=False, **kwargs), state,
                             origin=f"weights file {local}")
    else:
        model = files.timm_pretrained(name, **kwargs)
    return model.eval(), Preprocessing.from_timm(model)


def load(
    name: str, weights_path: str | os.PathLike | None = None, source: str | None = None
) -> tuple[nn.Module, Preprocessing]:
    """Our model ``name`` with the official ImageNet weights of its declared reference, and the
    preprocessing they expect.

    ``source`` picks among the model's references (default: the first with weights). The
    weights are read from ``weights_path`` (a state dict saved from the reference), else
    ``<weights folder>/<name>.pth`` (or ``<weights name>.pth``), else the caches, else
    downloaded. Raises :class:`WeightsUnavailable` when none works.
    """
    reference = entry(name).reference(source)
    if reference.weights is None and reference.source != "pytorchcv":
        raise ValueError(f"the {reference.source} reference of {name!r} declares no weights")
    local = files.local_file((name, reference.weights or reference.name), weights_path)
    build = reference.build
    if reference.source == "timm":
        instance, preprocessing = timm_model(reference.weights, weights_path=local, **build)
    elif local is not None:
        state = files.read_state_dict(local)
        instance = build_filled(
            lambda: reference_model(name, source=reference.source), state, reference.rename,
            origin=f"weights file {local}",
        )
    else:
        instance = reference_model(name, source=reference.source, pretrained=True)
    if reference.source == "torchvision":
        preprocessing = Preprocessing.from_torchvision(reference.weights)
    elif reference.source == "pytorchcv":
        preprocessing = IMAGENET_PREPROCESSING
    return from_reference(name, instance), preprocessing
