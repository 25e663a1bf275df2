"""Train or load: a finished run is kept under ``cache_dir()/runs`` and loaded next time.

Notebooks call ``train_or_load(name, data, hp)`` with the whole data set; the current profile's
subset is taken here, so a re-run of a notebook (or of nbval in CI) costs a file read, not a
training run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import torch

from lecture21 import __version__
from lecture21.config import cache_dir, get_profile, seed_everything
from lecture21.models import create
from lecture21.results import record_run
from lecture21.train.engine import Data, HyperParams, TrainResult, _splits, fit

__all__ = ["data_fingerprint", "run_key", "run_path", "train_or_load"]


def data_fingerprint(data: Data) -> str:
    """A hash of the data's source, class names, sizes and every byte of every split."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(json.dumps([data.source, list(data.classes)]).encode())
    for tensor in _splits(data):
        digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy())
    return digest.hexdigest()


def run_key(
    name: str, variant: str, options: dict, profile: str, hp: HyperParams, data: Data
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
    data: Data,
    hp: HyperParams | None = None,
    *,
    variant: str = "cifar",
    device: torch.device | str | None = None,
    progress: bool = True,
    **model_options,
) -> TrainResult:
    """Train the registered model ``name`` on the current profile's subset of ``data``, or load it.

    The profile (``LECTURE21_PROFILE``) decides the subset: ``data.subset(profile.train_size,
    profile.test_size)`` (the whole set in ``full``); ``hp`` defaults to
    ``HyperParams.for_profile(model=name)``. The run is cached by (model name, variant,
    options, profile, hyperparameters, data); a finished run is loaded instead of trained
    (``result.loaded`` is true then), an interrupted one resumes from its last epoch.
    """
    profile = get_profile()
    hp = hp if hp is not None else HyperParams.for_profile(profile, model=name)
    _splits(data)  # a clear error for anything that is not a data set
    data = data.subset(profile.train_size, profile.test_size)
    seed_everything(hp.seed)  # the same initial weights every time
    model = create(name, variant=variant, num_classes=data.num_classes, **model_options)
    key = run_key(name, variant, model_options, profile.name, hp, data)
    path = run_path(name, variant, profile.name, key)
    result = fit(model, data, hp, device=device, progress=progress, checkpoint_path=path)
    result.extra.update(model=name, variant=variant, options=model_options,
                        profile=profile.name, train_size=len(_splits(data)[0]),
                        test_size=len(_splits(data)[2]))
    record_run(result, data)  # every run, trained or loaded, goes to the results store
    return result
