"""Pretrained weights files: where they are looked for, the offline rules, and downloads.

A weights file is looked for, in this order, in

1. ``weights_path=`` (a state dict saved from the reference or from our model);
2. the weights folder (``$LECTURE21_WEIGHTS``, default ``<cache>/weights``, filled once by
   ``make weights``): a file ``<name>.safetensors`` / ``.pth`` named after our model or the
   weights, or the timm / torchvision / pytorchcv caches ``make weights`` writes there;
3. the libraries' own caches (Hugging Face hub, ``torch.hub``);
4. a download, when the network is reachable.

Whether it is reachable is found out once per process: ``HF_HUB_OFFLINE=1`` says no at once,
otherwise one TCP connection to the hub is tried for at most :data:`PROBE_TIMEOUT_S` seconds.
When nothing works, :class:`WeightsUnavailable` carries one short Russian line.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest.mock import patch

import torch
from torch import nn

from lecture21.config import WEIGHTS_ENV, weights_dir

__all__ = [
    "PROBE_TIMEOUT_S",
    "WEIGHTS_ENV",
    "WeightsUnavailable",
    "local_file",
    "network_available",
    "pytorchcv_pretrained",
    "read_state_dict",
    "timm_cache",
    "timm_pretrained",
    "torchvision_state_dict",
    "unavailable",
]

#: The host whose reachability stands for "the network" (timm's weights are there).
PROBE_HOST = ("huggingface.co", 443)
#: The longest the probe waits, DNS included: the notebook must go on within 2 seconds.
PROBE_TIMEOUT_S = 1.5
SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")

_probe: dict[str, bool] = {}  # the per-process answer of network_available()
_probe_lock = threading.Lock()


class WeightsUnavailable(RuntimeError):
    """Pretrained weights could neither be found in a local file nor downloaded."""


def offline_by_env() -> bool:
    """``HF_HUB_OFFLINE`` is set to a true value (read each time: a test may set it late)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _connect(result: dict[str, bool]) -> None:
    try:
        socket.create_connection(PROBE_HOST, timeout=PROBE_TIMEOUT_S).close()
        result["ok"] = True
    except OSError:
        result["ok"] = False


def network_available() -> bool:
    """Whether pretrained weights can be downloaded: ``False`` at once under
    ``HF_HUB_OFFLINE=1``, else one connection attempt per process (DNS included, bounded by a
    thread), remembered."""
    if offline_by_env():
        return False
    with _probe_lock:
        if "ok" not in _probe:
            result: dict[str, bool] = {}
            thread = threading.Thread(target=_connect, args=(result,), daemon=True)
            thread.start()
            thread.join(PROBE_TIMEOUT_S)
            _probe["ok"] = result.get("ok", False)
        return _probe["ok"]


def unavailable(what: str, reason: str | None = None) -> WeightsUnavailable:
    """The one short Russian line a notebook prints when weights cannot be had."""
    reason = reason or ("HF_HUB_OFFLINE=1" if offline_by_env() else "нет сети")
    return WeightsUnavailable(
        f"Веса {what} недоступны ({reason}): выполните `make weights` при доступной сети "
        f"или положите файл весов в {weights_dir()} (${WEIGHTS_ENV})."
    )


def local_file(names: tuple[str, ...], weights_path: str | os.PathLike | None) -> Path | None:
    """``weights_path`` if given (it must exist), else ``<weights folder>/<name>.<suffix>`` for
    the first of ``names`` that has such a file."""
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise ValueError(f"weights_path must be an existing file, got {str(path)!r}")
        return path
    folder = weights_dir()
    for name in names:
        for suffix in SUFFIXES:
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a ``.safetensors`` or a torch file (never executed: weights_only)."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):  # checkpoints that wrap the state dict
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ValueError(f"weights file {path} holds no state dict")
    return state


@contextmanager
def _hub_offline_as_env_says() -> Iterator[None]:
    """Honour ``HF_HUB_OFFLINE`` even when it was set after huggingface_hub was imported
    (the hub reads it once, at import; a test or a notebook cell may set it later)."""
    from huggingface_hub import constants

    offline = constants.HF_HUB_OFFLINE or offline_by_env()
    with patch.object(constants, "HF_HUB_OFFLINE", offline):
        yield


def _hub_cached(repo: str, filenames: tuple[str, ...], cache_dir: Path | None) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return any(
        isinstance(try_to_load_from_cache(repo, name, cache_dir=cache_dir), str)
        for name in filenames
    )


def timm_cache(tag: str) -> str | None:
    """Where timm finds ``tag``'s weights without a network: ``"folder"`` (the weights folder),
    ``"default"`` (timm's own caches), or ``None`` where there is no copy."""
    import timm.models

    cfg = timm.models.get_pretrained_cfg(tag)
    if cfg is None:
        raise ValueError(f"tag must name timm pretrained weights, got {tag!r}")
    folder = weights_dir()
    if cfg.hf_hub_id:
        names = (cfg.hf_hub_filename,) if cfg.hf_hub_filename else (
            "model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin")
        if _hub_cached(cfg.hf_hub_id, names, folder):
            return "folder"
        if _hub_cached(cfg.hf_hub_id, names, None):
            return "default"
    if cfg.url:
        file = cfg.url.rsplit("/", 1)[-1]
        if (folder / file).is_file():
            return "folder"
        if (Path(torch.hub.get_dir()) / "checkpoints" / file).is_file():
            return "default"
    return None


def timm_pretrained(tag: str, **kwargs) -> nn.Module:
    """timm's model ``tag`` with its pretrained weights from a cache, or downloaded into the
    weights folder; :class:`WeightsUnavailable` at once when neither is possible."""
    import timm

    found = timm_cache(tag)
    if found is None and not network_available():
        raise unavailable(f"timm '{tag}'")
    cache_dir = None if found == "default" else weights_dir()
    try:
        with _hub_offline_as_env_says():
            return timm.create_model(tag, pretrained=True, cache_dir=cache_dir, **kwargs)
    except (OSError, RuntimeError, ValueError) as error:  # hub errors are OSErrors
        raise unavailable(f"timm '{tag}'", type(error).__name__) from error


def torchvision_state_dict(weights: str) -> dict[str, torch.Tensor]:
    """The state dict of the torchvision weights enum ``weights`` from the weights folder or
    torch.hub's cache, else downloaded into the weights folder."""
    import torchvision

    url = torchvision.models.get_weight(weights).url
    file = url.rsplit("/", 1)[-1]
    for folder in (weights_dir(), Path(torch.hub.get_dir()) / "checkpoints"):
        if (folder / file).is_file():
            return read_state_dict(folder / file)
    if not network_available():
        raise unavailable(f"torchvision '{weights}'")
    try:
        return torch.hub.load_state_dict_from_url(
            url, model_dir=str(weights_dir()), map_location="cpu", progress=False,
            weights_only=True,
        )
    except (OSError, RuntimeError) as error:  # URLError is an OSError
        raise unavailable(f"torchvision '{weights}'", type(error).__name__) from error


def pytorchcv_pretrained(name: str, **build) -> nn.Module:
    """pytorchcv's ``name`` with its pretrained weights from the weights folder (its own store
    layout, ``<name>-<error>-<hash>.pth``) or downloaded there."""
    from pytorchcv.model_provider import get_model

    folder = weights_dir()
    if not any(folder.glob(f"{name}-*.pth")) and not network_available():
        raise unavailable(f"pytorchcv '{name}'")
    try:
        return get_model(name, pretrained=True, root=str(folder), **build)
    except (OSError, RuntimeError) as error:
        raise unavailable(f"pytorchcv '{name}'", type(error).__name__) from error
