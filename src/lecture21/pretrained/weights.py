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
import pickle
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
    "stored_file",
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
    """A state dict from a ``.safetensors`` or a torch file, never executed: ``weights_only=True``
    (and never retried without it). A file that cannot be read, or holds anything but a dict
    of tensors, raises one ``ValueError`` naming the file."""
    try:
        if path.suffix == ".safetensors":
            from safetensors import SafetensorError
            from safetensors.torch import load_file

            try:
                state = load_file(str(path))
            except SafetensorError as error:
                raise ValueError(str(error)) from error
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:  # torch's text advises weights_only=False: never
        raise ValueError(
            f"weights file {path} holds objects other than tensors and plain containers; it "
            "was refused unread (nothing in a weights file is executed): replace it"
        ) from error
    except Exception as error:  # corrupt bytes fail anywhere in the unpickler (IndexError...)
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"weights file {path} cannot be read ({reason}): replace it") from error
    for key in ("state_dict", "model"):  # checkpoints that wrap the state dict
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ValueError(f"weights file {path} holds no state dict (names -> tensors)")
    return state


@contextmanager
def _hub_offline_as_env_says() -> Iterator[None]:
    """Honour ``HF_HUB_OFFLINE`` even when it was set after huggingface_hub was imported
    (the hub reads it once, at import; a test or a notebook cell may set it later)."""
    from huggingface_hub import constants

    offline = constants.HF_HUB_OFFLINE or offline_by_env()
    with patch.object(constants, "HF_HUB_OFFLINE", offline):
        yield


def timm_pretrained(tag: str, **kwargs) -> nn.Module:
    """timm's model ``tag`` with its pretrained weights from a cache, or downloaded into the
    weights folder; :class:`WeightsUnavailable` at once when neither is possible."""
    import timm

    found = stored_file("timm", tag)
    if found is None and not network_available():
        raise unavailable(f"timm '{tag}'")
    # timm's own caches unless the copy is in the weights folder (or must be downloaded there)
    in_folder = found is None or found.is_relative_to(weights_dir())
    cache_dir = weights_dir() if in_folder else None
    try:
        with _hub_offline_as_env_says():
            return timm.create_model(tag, pretrained=True, cache_dir=cache_dir, **kwargs)
    except (OSError, RuntimeError, ValueError) as error:  # hub errors are OSErrors
        raise unavailable(f"timm '{tag}'", type(error).__name__) from error


def torchvision_state_dict(weights: str) -> dict[str, torch.Tensor]:
    """The state dict of the torchvision weights enum ``weights`` from the weights folder or
    torch.hub's cache, else downloaded into the weights folder."""
    import torchvision

    found = stored_file("torchvision", weights)
    if found is not None:
        return read_state_dict(found)
    url = torchvision.models.get_weight(weights).url
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

    if stored_file("pytorchcv", name) is None and not network_available():
        raise unavailable(f"pytorchcv '{name}'")
    try:
        return get_model(name, pretrained=True, root=str(weights_dir()), **build)
    except (OSError, RuntimeError) as error:
        raise unavailable(f"pytorchcv '{name}'", type(error).__name__) from error


def stored_file(source: str, weights: str) -> Path | None:
    """The file that holds ``weights`` of ``source`` without a network, if there is one: in
    the weights folder first, then in the libraries' own caches."""
    folder = weights_dir()
    if source == "pytorchcv":
        return next(iter(sorted(folder.glob(f"{weights}-*.pth"))), None)
    if source == "torchvision":
        import torchvision

        file = torchvision.models.get_weight(weights).url.rsplit("/", 1)[-1]
        candidates = [folder / file, Path(torch.hub.get_dir()) / "checkpoints" / file]
        return next((c for c in candidates if c.is_file()), None)
    import timm.models
    from huggingface_hub import try_to_load_from_cache

    cfg = timm.models.get_pretrained_cfg(weights)
    if cfg is None:
        raise ValueError(f"weights must name timm pretrained weights, got {weights!r}")
    if cfg.hf_hub_id:
        names = (cfg.hf_hub_filename,) if cfg.hf_hub_filename else (
            "model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin")
        for cache_dir in (folder, None):
            for name in names:
                found = try_to_load_from_cache(cfg.hf_hub_id, name, cache_dir=cache_dir)
                if isinstance(found, str):
                    return Path(found)
    if cfg.url:
        file = cfg.url.rsplit("/", 1)[-1]
        candidates = [folder / file, Path(torch.hub.get_dir()) / "checkpoints" / file]
        return next((c for c in candidates if c.is_file()), None)
    return None
