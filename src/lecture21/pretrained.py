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

__all__ = [
    "REFERENCES",
    "WEIGHTS_ENV",
    "Preprocessing",
    "WeightsUnavailable",
    "copy_weights",
    "from_reference",
    "load",
    "reference_model",
    "timm_model",
]


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


def _timm_weights_cached(name: str) -> bool:
    """Whether timm would find ``name``'s weights without a network (hub or torch cache)."""
    import timm.models
    from huggingface_hub import try_to_load_from_cache

    cfg = timm.models.get_pretrained_cfg(name)
    if cfg is None:
        return False
    if cfg.hf_hub_id:
        for filename in ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin"):
            if isinstance(try_to_load_from_cache(cfg.hf_hub_id, filename), str):
                return True
    if cfg.url:
        return (Path(torch.hub.get_dir()) / "checkpoints" / cfg.url.rsplit("/", 1)[-1]).is_file()
    return False


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
        if _offline() and not _timm_weights_cached(name):
            # Fail before building the model: building VGG alone takes seconds.
            raise _unavailable(f"timm '{name}'", FileNotFoundError("not in the local cache"))
        try:
            with _hub_offline_as_env_says():
                model = timm.create_model(name, pretrained=True, **kwargs)
        except (OSError, RuntimeError, ValueError) as error:  # hub errors are OSErrors
            raise _unavailable(f"timm '{name}'", error) from error
    return model.eval(), Preprocessing.from_timm(model)


# --------------------------------------------------------------------------------------------
# Reference models (torchvision, timm) into our own classes
# --------------------------------------------------------------------------------------------

_COPIED = (nn.Conv2d, nn.Linear, nn.BatchNorm2d)

#: Our registry name -> where the official weights come from: ("timm", timm name) or
#: ("torchvision", builder name, weights enum name). timm has no AlexNet and no GoogLeNet.
REFERENCES: dict[str, tuple[str, ...]] = {
    "alexnet": ("torchvision", "alexnet", "AlexNet_Weights"),
    "googlenet": ("torchvision", "googlenet", "GoogLeNet_Weights"),
    **{f"vgg{d}": ("timm", f"vgg{d}.tv_in1k") for d in (11, 13, 16, 19)},
    **{f"vgg{d}_bn": ("timm", f"vgg{d}_bn.tv_in1k") for d in (11, 13, 16, 19)},
}


def _weighted_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, _COPIED)]


def copy_weights(reference: nn.Module, model: nn.Module) -> None:
    """Copy every convolution, linear and batch-norm layer of ``reference`` into ``model``,
    pairing them in the order the modules are defined (both follow the paper's order).

    Raises ``ValueError`` naming the first pair that differs in kind or shape, so a wrong
    configuration is found here and not as wrong predictions later.
    """
    ours, theirs = _weighted_layers(model), _weighted_layers(reference)
    if len(ours) != len(theirs):
        raise ValueError(
            f"reference has {len(theirs)} conv/linear/BN layers, our model {len(ours)}: "
            "the configurations differ"
        )
    for (our_name, our), (ref_name, ref) in zip(ours, theirs):
        if type(our) is not type(ref) or our.weight.shape != ref.weight.shape:
            raise ValueError(
                f"reference layer {ref_name} {type(ref).__name__}{tuple(ref.weight.shape)} does "
                f"not match our {our_name} {type(our).__name__}{tuple(our.weight.shape)}"
            )
        our.load_state_dict(ref.state_dict())


def _covered(model: nn.Module, key: str) -> bool:
    owner = model.get_submodule(key.rsplit(".", 1)[0]) if "." in key else model
    return isinstance(owner, _COPIED)


def _num_classes(reference: nn.Module) -> int:
    last = _weighted_layers(reference)[-1][1]
    if not isinstance(last, nn.Linear):
        raise ValueError(f"reference must end with a linear classifier, got {type(last).__name__}")
    return last.out_features


def _our_config(name: str, reference: nn.Module) -> tuple[str, dict]:
    """Our registry name and the options that make our model match ``reference``."""
    import torchvision

    base = name.removesuffix("_bn")
    if base == "alexnet":
        if not isinstance(reference, torchvision.models.AlexNet):
            raise ValueError(f"reference for 'alexnet' must be torchvision's AlexNet, got "
                             f"{type(reference).__name__}")
        widths = tuple(m.out_channels for m in reference.features if isinstance(m, nn.Conv2d))
        drop = next(m.p for m in reference.classifier if isinstance(m, nn.Dropout))
        # "One weird trick" AlexNet: no groups, no LRN, adaptive 6x6 average pooling.
        return base, {"widths": widths, "groups": 1, "lrn": False, "adaptive_pool": 6,
                      "dropout": drop}
    if base == "googlenet":
        if not isinstance(reference, torchvision.models.GoogLeNet):
            raise ValueError(f"reference for 'googlenet' must be torchvision's GoogLeNet, got "
                             f"{type(reference).__name__}")
        return base, {
            "aux_logits": bool(reference.aux_logits), "batch_norm": True, "lrn": False,
            "branch3_kernel": reference.inception3a.branch3[1].conv.kernel_size[0],
            "ceil_mode": True, "last_pool_kernel": reference.maxpool4.kernel_size,
            "transform_input": bool(reference.transform_input),
            "dropout": reference.dropout.p, "aux_adaptive_pool": True,
        }
    if base in {"vgg11", "vgg13", "vgg16", "vgg19"}:
        batch_norm = any(isinstance(m, nn.BatchNorm2d) for m in reference.modules())
        if name.endswith("_bn") and not batch_norm:
            raise ValueError(f"name {name!r} asks for batch norm, but the reference has none")
        timm_style = hasattr(reference, "pre_logits")  # timm: FC layers as convolutions
        convs = sum(isinstance(m, nn.Conv2d) for m in reference.features.modules())
        expected = {"vgg11": 8, "vgg13": 10, "vgg16": 13, "vgg19": 16}[base]
        if convs != expected:
            raise ValueError(f"reference has {convs} convolutions, {base} has {expected}")
        return base, {
            "batch_norm": batch_norm, "classifier": "conv" if timm_style else "linear",
            "adaptive_pool": not timm_style,
        }
    raise ValueError(f"name must be one of {sorted(REFERENCES)}, got {name!r}")


def from_reference(name: str, reference: nn.Module) -> nn.Module:
    """Our model ``name`` configured like ``reference`` with its weights copied in, eval mode.

    ``name`` is our registry name (``"alexnet"``, ``"googlenet"``, ``"vgg16"``; ``"vgg16_bn"``
    is accepted too); ``reference`` a torchvision or timm model instance. Deviations of the
    reference from the paper become options of our model (see each model file's docstring).
    """
    from lecture21.models import create

    base, options = _our_config(name, reference)
    # Built without initialising (meta device): every weight is overwritten by the copy, and
    # initialising VGG's 138 M parameters first would take seconds.
    with torch.device("meta"):
        model = create(base, "imagenet", num_classes=_num_classes(reference), **options)
    model = model.to_empty(device=next(reference.parameters()).device)
    copy_weights(reference, model)
    for key in model.state_dict():  # e.g. LeNet's fixed RBF code: not copied
        if not _covered(model, key):
            raise ValueError(f"our model's {key} has no counterpart in the reference")
    return model.eval()


def reference_model(name: str, pretrained: bool = False) -> nn.Module:
    """The reference implementation of ``name`` (see :data:`REFERENCES`), random or pretrained."""
    if name not in REFERENCES:
        raise ValueError(f"name must be one of {sorted(REFERENCES)}, got {name!r}")
    source, model_name, *rest = REFERENCES[name]
    if source == "timm":
        import timm

        return timm.create_model(model_name, pretrained=pretrained)
    import torchvision

    builder = getattr(torchvision.models, model_name)
    weights = getattr(torchvision.models, rest[0]).IMAGENET1K_V1 if pretrained else None
    options = {"init_weights": True} if model_name == "googlenet" else {}
    if model_name == "googlenet" and weights is None:
        options["aux_logits"] = False
    return builder(weights=weights, **options)


def _torchvision_weights(name: str) -> Path:
    """The cached torchvision weights file, downloading it unless offline."""
    import torchvision

    _, _, enum = REFERENCES[name]
    url = getattr(torchvision.models, enum).IMAGENET1K_V1.url
    cached = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
    if cached.is_file():
        return cached
    if _offline():
        raise _unavailable(f"torchvision '{name}'", FileNotFoundError(f"{cached} (offline)"))
    try:
        torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=False)
    except (OSError, RuntimeError) as error:  # URLError is an OSError
        raise _unavailable(f"torchvision '{name}'", error) from error
    return cached


def load(
    name: str, weights_path: str | os.PathLike | None = None
) -> tuple[nn.Module, Preprocessing]:
    """Our model ``name`` with the official ImageNet weights, and their preprocessing.

    The weights are read from ``weights_path`` (a state dict saved from the reference model,
    see :func:`reference_model`), else ``$LECTURE21_WEIGHTS/<name>.pth``, else downloaded
    through timm (VGG) or torchvision (AlexNet, GoogLeNet). Raises :class:`WeightsUnavailable`
    when none works, within a second under ``HF_HUB_OFFLINE=1``.
    """
    if name not in REFERENCES:
        raise ValueError(f"name must be one of {sorted(REFERENCES)}, got {name!r}")
    source = REFERENCES[name][0]
    local = _local_file(name, weights_path)
    if source == "timm":
        if local is None:
            reference, preprocessing = timm_model(REFERENCES[name][1])
        else:
            reference, preprocessing = timm_model(REFERENCES[name][1], weights_path=local)
        return from_reference(name, reference), preprocessing
    path = local or _torchvision_weights(name)
    state = _read_state_dict(path)
    reference = reference_model(name)
    if name == "googlenet":
        # The official weights were trained on [-1, 1] inputs (transform_input) and the file
        # may hold the auxiliary classifiers too.
        import torchvision

        has_aux = any(key.startswith("aux1.") for key in state)
        reference = torchvision.models.googlenet(
            weights=None, aux_logits=has_aux, init_weights=False, transform_input=True
        )
    reference.load_state_dict(state)
    return from_reference(name, reference), TORCHVISION_PREPROCESSING
