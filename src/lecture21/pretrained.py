"""Pretrained ImageNet weights: timm / torchvision models, and their weights in our own models.

* :func:`timm_model` -- a timm model with its official weights and the preprocessing they
  expect (mean, std, input size), for the interpretation notebooks.
* :func:`from_reference` -- our model (``lecture21.models``) configured like a reference model
  instance (torchvision or timm) with the reference's weights copied into it; the reference's
  deviations from the paper are options of our classes, never copies of the reference's code.
* :func:`load` -- the official weights (timm, or torchvision where timm has no such model:
  AlexNet, GoogLeNet) in our model, with the preprocessing.

Without a network (``HF_HUB_OFFLINE=1`` in CI) every loader raises one clear
:class:`WeightsUnavailable` in well under a second; a local weights file is accepted through
``weights_path=`` or the directory named by ``$LECTURE21_WEIGHTS``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

import numpy as np
import torch
from torch import nn

WEIGHTS_ENV = "LECTURE21_WEIGHTS"

__all__ = ["WEIGHTS_ENV", "Preprocessing", "WeightsUnavailable", "timm_model"]


class WeightsUnavailable(RuntimeError):
    """Pretrained weights could neither be downloaded nor found in a local file."""


def _unavailable(what: str, cause: BaseException | None = None) -> WeightsUnavailable:
    reason = f" ({type(cause).__name__}: {str(cause).splitlines()[0][:160]})" if cause else ""
    return WeightsUnavailable(
        f"Не удалось загрузить предобученные веса {what}: нет доступа к сети{reason}. "
        f"Подключите сеть (и снимите HF_HUB_OFFLINE=1) или передайте локальный файл весов: "
        f"weights_path=... или каталог ${WEIGHTS_ENV} с файлом <имя>.pth / .safetensors.\n"
        f"Pretrained weights for {what} could not be downloaded (no network access{reason}). "
        f"Connect to the network (and unset HF_HUB_OFFLINE=1) or provide a local weights file: "
        f"weights_path=... or a directory ${WEIGHTS_ENV} holding <name>.pth / .safetensors."
    )


@dataclass(frozen=True)
class Preprocessing:
    """What the weights expect: RGB in [0, 1] resized to ``input_size``, minus mean, over std."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    input_size: tuple[int, int, int]
    interpolation: str = "bilinear"
    crop_pct: float = 0.875

    def __call__(self, image: np.ndarray | torch.Tensor) -> torch.Tensor:
        """A uint8 ``(H, W, 3)`` photo -> a normalised ``(1, 3, H', W')`` batch.

        Resize the shorter side to ``size / crop_pct``, centre-crop ``size`` (the evaluation
        protocol of timm and torchvision).
        """
        import torch.nn.functional as F

        array = torch.as_tensor(np.asarray(image))
        if array.dtype != torch.uint8 or array.ndim != 3 or array.shape[-1] != 3:
            raise ValueError(
                f"image must be a uint8 array (H, W, 3), got {array.dtype} {tuple(array.shape)}"
            )
        x = array.permute(2, 0, 1)[None].float() / 255
        size = self.input_size[-1]
        short = round(size / self.crop_pct)
        h, w = x.shape[-2:]
        scale = short / min(h, w)
        mode = "bicubic" if self.interpolation == "bicubic" else "bilinear"
        x = F.interpolate(
            x, size=(max(size, round(h * scale)), max(size, round(w * scale))), mode=mode,
            align_corners=False, antialias=True,
        ).clamp(0, 1)
        top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
        x = x[..., top : top + size, left : left + size]
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return (x - mean) / std

    def undo(self, batch: torch.Tensor) -> torch.Tensor:
        """Back to RGB ``(N, H, W, 3)`` floats in [0, 1], for showing the input."""
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return (batch.detach().cpu() * std + mean).clamp(0, 1).permute(0, 2, 3, 1)

    @classmethod
    def from_timm(cls, model: nn.Module) -> Preprocessing:
        """Read ``timm.data.resolve_data_config`` of a timm model."""
        import timm.data

        cfg = timm.data.resolve_data_config({}, model=model)
        return cls(
            tuple(cfg["mean"]), tuple(cfg["std"]), tuple(cfg["input_size"]),
            cfg.get("interpolation", "bilinear"), float(cfg.get("crop_pct", 0.875)),
        )


#: torchvision's ImageNet preprocessing (AlexNet, GoogLeNet weights): resize 256, crop 224.
TORCHVISION_PREPROCESSING = Preprocessing(
    (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), (3, 224, 224), "bilinear", 224 / 256
)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


@contextmanager
def _hub_offline_as_env_says() -> Iterator[None]:
    """Honour ``HF_HUB_OFFLINE`` even when it was set after huggingface_hub was imported
    (the hub reads it once, at import; a test or a notebook cell may set it later)."""
    from huggingface_hub import constants

    with patch.object(constants, "HF_HUB_OFFLINE", constants.HF_HUB_OFFLINE or _offline()):
        yield


def _local_file(name: str, weights_path: str | os.PathLike | None) -> Path | None:
    """``weights_path`` if given (it must exist), else ``$LECTURE21_WEIGHTS/<name>.*``."""
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise ValueError(f"weights_path must be an existing file, got {str(path)!r}")
        return path
    folder = os.environ.get(WEIGHTS_ENV)
    if folder:
        for suffix in (".safetensors", ".pth", ".pt", ".bin"):
            candidate = Path(folder).expanduser() / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):  # checkpoints that wrap the state dict
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    return state


def timm_model(
    name: str, weights_path: str | os.PathLike | None = None, **kwargs
) -> tuple[nn.Module, Preprocessing]:
    """A timm model with pretrained weights, in eval mode, and the preprocessing they expect.

    ``name`` is a timm model name (``"resnet50.a1_in1k"``, ``"vgg16.tv_in1k"``). The weights come
    from ``weights_path``, else ``$LECTURE21_WEIGHTS/<name>.pth``, else the Hugging Face hub.
    Raises :class:`WeightsUnavailable` when none of these works (at once under
    ``HF_HUB_OFFLINE=1``), ``ValueError`` for a name timm does not know.
    """
    import timm

    if not isinstance(name, str) or not timm.is_model(name.split(".")[0]):
        raise ValueError(f"name must be a timm model name such as 'resnet50', got {name!r}")
    local = _local_file(name, weights_path)
    if local is not None:
        model = timm.create_model(name, pretrained=False, **kwargs)
        model.load_state_dict(_read_state_dict(local))
    else:
        try:
            with _hub_offline_as_env_says():
                model = timm.create_model(name, pretrained=True, **kwargs)
        except (OSError, RuntimeError, ValueError) as error:  # hub errors are OSErrors
            raise _unavailable(f"timm '{name}'", error) from error
    return model.eval(), Preprocessing.from_timm(model)
