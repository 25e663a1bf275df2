"""Train or load: a finished run is kept under ``cache_dir()/runs`` and loaded next time.

Notebooks call ``train_or_load(name, data, hp)`` with the whole data set; the current profile's
subset (or the model recipe's) is taken here, so a re-run of a notebook (or of nbval in CI)
costs a file read, not a training run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import torch

from lecture21 import __version__
from lecture21.config import cache_dir, get_profile, seed_everything
from lecture21.data import Dataset
from lecture21.models import create
from lecture21.results import record_run
from lecture21.train.loop import TrainResult, fit
from lecture21.train.recipes import HyperParams, Recipe, recipe_for

__all__ = ["data_fingerprint", "run_key", "run_path", "train_or_load"]


def data_fingerprint(data: Dataset) -> str:
    """A hash of the data's source, class names, sizes and every byte of every split."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(json.dumps([data.source, list(data.classes)]).encode())
    for tensor in (data.train_x, data.train_y, data.test_x, data.test_y):
        digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy())
    return digest.hexdigest()


def run_key(
    name: str, variant: str, options: dict, profile: str, hp: HyperParams, data: Dataset
) -> str:
    """The cache key of a run: model name, variant, options, profile, hyperparameters, data."""
    description = {
        "model": name, "variant": variant, "options": options, "profile": profile,
        "hp": asdict(hp), "data": data_fingerprint(data), "version": __version__,
    }
    text = json.dumps(description, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_path(name: str, variant: str, profile: str, key: str) -> Path:
    """Where the run with this key is (or will be) stored."""
    return cache_dir() / "runs" / f"{name}-{variant}-{profile}-{key}.pt"


def train_or_load(
    name: str,
    data: Dataset,
    hp: HyperParams | None = None,
    *,
    options: dict | None = None,
    recipe: str | Recipe | None = None,
    variant: str = "cifar",
    device: torch.device | str | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train the registered model ``name`` on the current profile's subset of ``data``, or load it.

    ``options`` are the model's own options (``{"width": 0.5}``), added to the recipe's.
    ``recipe`` (default: the recipe of ``name``, see ``RECIPES``) gives the hyperparameters when
    ``hp`` is not given, and the subset: ``data.subset(train_size, test_size)`` of the profile
    (``LECTURE21_PROFILE``; the whole set in ``full``) unless the recipe sets its own. The run is
    cached by (model name, variant, options, profile, hyperparameters, data); a finished run is
    loaded instead of trained (``result.loaded`` is true then), an interrupted one resumes.
    """
    if not isinstance(data, Dataset):
        raise ValueError(f"data must be a lecture21.data.Dataset, got {type(data).__name__}")
    if options is not None and not isinstance(options, dict):
        raise ValueError(f"options must be a dict of model options, got {type(options).__name__}")
    profile = get_profile()
    chosen = recipe_for(name if recipe is None else recipe)
    hp = hp if hp is not None else HyperParams.for_profile(profile, recipe=chosen)
    options = {**chosen.for_profile(profile.name).options, **(options or {})}
    data = data.subset(*chosen.sizes(profile))
    seed_everything(hp.seed)  # the same initial weights every time
    model = create(name, variant=variant, num_classes=data.num_classes, **options)
    key = run_key(name, variant, options, profile.name, hp, data)
    path = run_path(name, variant, profile.name, key)
    result = fit(model, data, hp, device=device, progress=progress, checkpoint_path=path,
                 key=key)
    result.extra.update(model=name, variant=variant, options=options, profile=profile.name,
                        train_size=len(data.train_x), test_size=len(data.test_x))
    record_run(result, data)  # every run, trained or loaded, goes to the results store
    return result
