"""The training engine every notebook uses: ``fit``, ``evaluate``, ``predict``.

The recipe is the fast CIFAR-10 one of the slide "Обучение CNN" and of Page's DAWNBench notes
("How to train your ResNet", 2018) and Keller Jordan's airbench (2024): the whole data set lives
on the device as uint8, augmentation happens there in batch (``augment.py``), SGD with Nesterov
momentum (Sutskever et al., 2013) under a per-step warmup-and-decay schedule (the one-cycle
policy of Smith & Topin, 2017), label smoothing (Szegedy et al., 2016), no weight decay on
norms and biases, ``channels_last`` and mixed precision on CUDA (bf16, or fp16 with loss
scaling: ``precision.py``), optional ``torch.compile``.

Checkpoints are written atomically after every epoch and hold everything a run depends on
(weights, optimizer, schedule, random states, history), so an interrupted run resumes and, on
the CPU with a fixed seed, ends with exactly the weights of an uninterrupted one.
"""

from __future__ import annotations

import math
import os
import pickle
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from functools import partial
from pathlib import Path

import torch
from torch import nn

from lecture21.config import Profile, get_device, get_profile, seed_everything
from lecture21.data import ImageData, normalize
from lecture21.train.augment import augment_batch, draw_params, pad
from lecture21.train.precision import Precision, autocast, choose_precision, make_scaler

__all__ = [
    "RECIPES",
    "HyperParams",
    "TensorData",
    "TrainResult",
    "evaluate",
    "fit",
    "load_checkpoint",
    "predict",
]

CHECKPOINT_FORMAT = 1

#: Per-model hyperparameters that differ from the defaults, stated for ``batch_size``; other
#: batch sizes scale ``lr`` linearly (Goyal et al., 2017). Used when a model name is given to
#: :meth:`HyperParams.for_profile` (``train_or_load``, the command line, the benchmark).
RECIPES: dict[str, dict[str, float | int]] = {
    # Page's DAWNBench ResNet-9: batch 512, peak lr 0.4, label smoothing 0.2, weight decay 5e-4.
    "resnet9": {"batch_size": 512, "lr": 0.4, "label_smoothing": 0.2, "weight_decay": 5e-4},
    # ResNet-18 on CIFAR-10 (kuangliu/pytorch-cifar style): lr 0.1 at batch 128.
    "resnet18": {"batch_size": 128, "lr": 0.1, "weight_decay": 5e-4},
}


@dataclass(frozen=True)
class HyperParams:
    """Every hyperparameter of a run; :meth:`for_profile` gives the defaults of a profile.

    ``lr`` is the peak learning rate, reached after ``warmup_fraction`` of the steps (linear
    warmup from zero), then decayed to zero (``decay``: ``"linear"`` or ``"cosine"``).
    ``crop_padding`` pixels of zero padding for the random crop (0: no crop), ``flip``: random
    horizontal flips, ``cutout``: side of the Cutout square (0: none), ``tta_flip``: evaluate on
    the image and its mirror image. ``eval_every`` epochs the test set is evaluated (the last
    epoch always is).
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.05
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    warmup_fraction: float = 0.2
    decay: str = "linear"
    crop_padding: int = 4
    flip: bool = True
    cutout: int = 0
    tta_flip: bool = True
    compile: bool = False
    eval_every: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        positive = {"epochs": self.epochs, "batch_size": self.batch_size,
                    "eval_every": self.eval_every}
        for name, value in positive.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        for name in ("crop_padding", "cutout", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing!r}")
        if not 0 <= self.warmup_fraction < 1:
            raise ValueError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction!r}")
        if self.decay not in ("linear", "cosine"):
            raise ValueError(f"decay must be 'linear' or 'cosine', got {self.decay!r}")

    @classmethod
    def for_profile(
        cls, profile: Profile | str | None = None, model: str | None = None, **overrides
    ) -> HyperParams:
        """Defaults for a profile (``None``: the current one), a model's recipe, then overrides.

        The profile gives ``epochs`` and ``batch_size`` (smoke: one epoch); the recipe of
        ``model`` in :data:`RECIPES` gives its learning rate and regularisation, with ``lr``
        scaled linearly to the batch size used; ``overrides`` win over both.
        """
        if not isinstance(profile, Profile):
            profile = get_profile(profile)
        unknown = sorted(set(overrides) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {', '.join(unknown)}")
        values: dict = {"epochs": profile.epochs, "batch_size": profile.batch_size}
        recipe = dict(RECIPES.get(model or "", {}))
        reference_batch = int(recipe.pop("batch_size", values["batch_size"]))
        values.update(recipe)
        values.update(overrides)
        if "lr" in recipe and "lr" not in overrides:
            values["lr"] = recipe["lr"] * values["batch_size"] / reference_batch
        return cls(**values)

    def replace(self, **changes) -> HyperParams:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class TensorData:
    """A train/test split of inputs that are not 32x32 images: token ids, spectrograms, ...

    ``train_x`` / ``test_x`` go to the model as they are (float or integer tensors; uint8
    tensors are taken for NHWC images and normalised), without augmentation.
    """

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]
    source: str = "tensors"

    synthetic = False
    notice = None

    def __post_init__(self) -> None:
        if len(self.classes) < 1:
            raise ValueError("classes must name at least one class")
        for split in ("train", "test"):
            x, y = getattr(self, f"{split}_x"), getattr(self, f"{split}_y")
            if not isinstance(x, torch.Tensor) or x.ndim < 1:
                raise ValueError(f"{split}_x must be a tensor (N, ...), got {type(x).__name__}")
            if len(x) == 0:
                raise ValueError(f"{split}_x is empty: a data set needs at least one example")
            _check_labels(y, len(x), self.num_classes, f"{split}_y")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def title(self, text: str) -> str:
        return text

    def subset(self, train_size: int | None, test_size: int | None, seed: int = 0) -> TensorData:
        """A seeded random subset, like :meth:`ImageData.subset`; ``None`` keeps a split."""
        generator = torch.Generator().manual_seed(seed)
        parts = {}
        for split, size in (("train", train_size), ("test", test_size)):
            x, y = getattr(self, f"{split}_x"), getattr(self, f"{split}_y")
            if size is not None and size < 1:
                raise ValueError(f"{split}_size must be a positive int or None, got {size!r}")
            if size is None or size >= len(x):
                index = torch.arange(len(x))
            else:
                index = torch.randperm(len(x), generator=generator)[:size].sort().values
            parts[f"{split}_x"], parts[f"{split}_y"] = x[index], y[index]
        return replace(self, **parts)


Data = ImageData | TensorData


@dataclass
class TrainResult:
    """What :func:`fit` returns. ``history`` has one dict per epoch: epoch, loss, train_acc,
    test_acc (``None`` on epochs not evaluated), lr, images_per_s, wall_time (seconds of
    training so far, evaluation excluded)."""

    model: nn.Module
    history: list[dict]
    test_accuracy: float
    train_time_s: float
    images_per_s: float
    device: str
    hp: HyperParams
    loaded: bool = False
    checkpoint_path: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        return len(self.history)


def _check_labels(labels: object, n: int, num_classes: int, name: str) -> None:
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


def _splits(data: Data) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    if isinstance(data, ImageData):
        return data.train_images, data.train_labels, data.test_images, data.test_labels
    if isinstance(data, TensorData):
        return data.train_x, data.train_y, data.test_x, data.test_y
    raise ValueError(
        f"data must be an ImageData or a lecture21.train.TensorData, got {type(data).__name__}"
    )


def _model_device(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _resolve_device(device: torch.device | str | None) -> torch.device:
    return device if isinstance(device, torch.device) else get_device(device)


def _to_input(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 NHWC images -> normalised float NCHW in channels_last memory; others unchanged."""
    x = x.to(device, non_blocking=True)
    if x.dtype == torch.uint8:
        # normalize() permutes NHWC to NCHW, which is already the channels_last layout.
        return normalize(x).contiguous(memory_format=torch.channels_last)
    return x


def _autocast(device: torch.device, precision: Precision | str | None = None):
    return autocast(device, precision)


@torch.no_grad()
def predict(
    model: nn.Module,
    images: torch.Tensor,
    *,
    device: torch.device | str | None = None,
    tta_flip: bool = False,
    batch_size: int = 1000,
) -> torch.Tensor:
    """Logits (float, on the CPU) of ``model`` for ``images``, in batches, in eval mode.

    ``images`` are uint8 ``(N, H, W, 3)`` (normalised here) or, for non-image models, tensors
    passed as they are. ``tta_flip`` averages the logits of each image and its mirror image.
    ``device`` defaults to the model's. The model's training mode is restored afterwards.
    """
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"images must be a tensor, got {type(images).__name__}")
    if images.dtype == torch.uint8 and (images.ndim != 4 or images.shape[-1] != 3):
        raise ValueError(
            f"uint8 images must have shape (N, H, W, 3), got {tuple(images.shape)}"
        )
    if tta_flip and images.dtype != torch.uint8:
        raise ValueError("tta_flip needs uint8 (N, H, W, 3) images")
    device = _model_device(model) if device is None else _resolve_device(device)
    was_training = model.training
    model.eval()
    try:
        outputs = []
        for chunk in images.split(batch_size):
            x = _to_input(chunk, device)
            with _autocast(device):
                logits = model(x).float()
                if tta_flip:
                    logits = (logits + model(x.flip(3)).float()) / 2
            outputs.append(logits.cpu())
        return torch.cat(outputs) if outputs else torch.empty(0)
    finally:
        model.train(was_training)


def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    tta_flip: bool = False,
    device: torch.device | str | None = None,
) -> float:
    """Top-1 accuracy in [0, 1] of ``model`` on ``images`` (see :func:`predict`)."""
    if not isinstance(images, torch.Tensor) or len(images) == 0:
        raise ValueError("images must be a non-empty tensor")
    logits = predict(model, images, device=device, tta_flip=tta_flip)
    _check_labels(labels, len(images), logits.shape[1], "labels")
    return (logits.argmax(1) == labels).float().mean().item()


def _lr_factor(step: int, *, total: int, warmup: int, decay: str) -> float:
    """Multiplier of the peak lr at ``step``: linear warmup, then linear or cosine decay."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    if decay == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    return 1 - progress


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on weights of convolutions and linear layers only, not on norms or biases."""
    decay, no_decay = [], []
    for parameter in model.parameters():
        if parameter.requires_grad:
            (decay if parameter.ndim > 1 else no_decay).append(parameter)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def _architecture(model: nn.Module) -> dict:
    """What a checkpoint must match: the class and every tensor's name and shape."""
    shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
    return {"class": f"{type(model).__module__}.{type(model).__qualname__}", "shapes": shapes}


def _save_atomically(state: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(handle)
    try:
        torch.save(state, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | Path, model: nn.Module | None = None) -> dict:
    """Read a checkpoint with ``weights_only=True``; with ``model``, check and load its weights.

    A checkpoint of another architecture (class, or any tensor's name or shape) raises a
    ``ValueError`` that names both.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError) as error:
        raise ValueError(f"checkpoint {path} cannot be read: {error}") from error
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"checkpoint {path} was not written by lecture21.train.fit")
    if model is not None:
        saved, current = state["architecture"], _architecture(model)
        if saved != current:
            differing = sorted(
                k for k in set(saved["shapes"]) | set(current["shapes"])
                if saved["shapes"].get(k) != current["shapes"].get(k)
            )
            raise ValueError(
                f"checkpoint {path} holds a {saved['class']} but the model is a "
                f"{current['class']} of another architecture (tensors that differ: "
                f"{', '.join(differing[:5]) or 'none'}{', ...' if len(differing) > 5 else ''}); "
                "delete the file or pass another checkpoint_path"
            )
        model.load_state_dict(state["model"])
    return state


def fit(
    model: nn.Module,
    data: Data,
    hp: HyperParams | None = None,
    *,
    device: torch.device | str | None = None,
    progress: bool = True,
    checkpoint_path: str | Path | None = None,
    callback: Callable[[dict], None] | None = None,
    precision: Precision | str | None = None,
) -> TrainResult:
    """Train ``model`` on ``data`` as given (no subsetting here; see ``train_or_load``).

    ``hp`` defaults to ``HyperParams.for_profile()``. With ``checkpoint_path`` the state is
    saved there after every epoch; if the file exists the run resumes from it, and if it is a
    finished run, nothing is trained and the stored result is returned (``loaded=True``).
    ``callback(row)`` is called with each epoch's history row, after the checkpoint is saved.
    ``precision``: ``bf16``, ``fp16`` (with loss scaling), ``fp32`` or ``auto`` (default:
    ``$LECTURE21_PRECISION``, else what the device supports; ``lecture21.train.precision``).
    Returns a :class:`TrainResult` whose model is in eval mode.
    """
    hp = hp if hp is not None else HyperParams.for_profile()
    if not isinstance(hp, HyperParams):
        raise ValueError(f"hp must be a HyperParams, got {type(hp).__name__}")
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    train_x, train_y, test_x, test_y = _splits(data)
    images = isinstance(data, ImageData)
    device = _resolve_device(device)
    seed_everything(hp.seed)

    model.to(device)
    if images:
        model.to(memory_format=torch.channels_last)
        if train_x.shape[1] != train_x.shape[2]:
            raise ValueError(f"images must be square, got {tuple(train_x.shape[1:3])}")
    with torch.no_grad():  # a wrong number of outputs would otherwise fail deep in the loss
        was_training = model.training
        model.eval()
        try:
            width = model(_to_input(train_x[:2], device)).shape[-1]
        except RuntimeError as error:
            raise ValueError(
                f"the model cannot take this data's inputs of shape {tuple(train_x.shape[1:])} "
                f"and dtype {train_x.dtype}: {error}"
            ) from error
        finally:
            model.train(was_training)
    if width != data.num_classes:
        raise ValueError(
            f"the model outputs {width} logits but the data have {data.num_classes} classes"
        )

    n = len(train_x)
    steps_per_epoch = math.ceil(n / hp.batch_size)
    if n > 1 and n % hp.batch_size == 1:  # a batch of one breaks batch norm: drop it
        steps_per_epoch -= 1
    total_steps = hp.epochs * steps_per_epoch
    optimizer = torch.optim.SGD(
        _param_groups(model, hp.weight_decay), lr=hp.lr, momentum=hp.momentum,
        nesterov=hp.nesterov, foreach=True,
    )
    schedule = partial(_lr_factor, total=total_steps,
                       warmup=round(hp.warmup_fraction * total_steps), decay=hp.decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    generator = torch.Generator().manual_seed(hp.seed)  # data order and augmentation, on CPU
    loss_fn = nn.CrossEntropyLoss(label_smoothing=hp.label_smoothing)
    precision = choose_precision(device, precision)
    scaler = make_scaler(device, precision)  # a pass-through unless fp16

    history: list[dict] = []
    train_time = 0.0
    start_epoch = 0
    data_info = {"train": n, "test": len(test_x), "classes": list(data.classes)}
    path = Path(checkpoint_path) if checkpoint_path is not None else None
    if path is not None and path.exists():
        state = load_checkpoint(path, model)
        if state["hp"] != asdict(hp):
            changed = sorted(k for k, v in asdict(hp).items() if state["hp"].get(k) != v)
            raise ValueError(
                f"checkpoint {path} was written with other hyperparameters "
                f"({', '.join(changed)}); delete it or pass another checkpoint_path"
            )
        if state["data"] != data_info:
            raise ValueError(
                f"checkpoint {path} was written for other data ({state['data']['train']} train /"
                f" {state['data']['test']} test images); delete it or pass another path"
            )
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["rng_data"])
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng_torch"])
        if device.type == "cuda" and state["rng_cuda"] is not None:
            torch.cuda.set_rng_state(state["rng_cuda"], device)
        history, train_time, start_epoch = state["history"], state["train_time_s"], state["epoch"]

    net = torch.compile(model) if hp.compile and start_epoch < hp.epochs else model
    train_x_device, train_y_device = train_x.to(device), train_y.to(device)
    padded = pad(train_x_device, hp.crop_padding) if images else train_x_device
    size = train_x.shape[1] if images else 0

    bar = _progress_bar(progress, total=total_steps, initial=start_epoch * steps_per_epoch,
                        desc=type(model).__name__, unit="step", leave=False)
    try:
        for epoch in range(start_epoch, hp.epochs):
            model.train()
            _synchronize(device)
            started = time.perf_counter()
            order = torch.randperm(n, generator=generator)[: steps_per_epoch * hp.batch_size]
            if images:
                params = draw_params(n, size, hp.crop_padding, hp.flip, hp.cutout, generator)
                params = params[order].to(device)
            order = order.to(device)
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device, dtype=torch.long)
            for step in range(steps_per_epoch):
                window = slice(step * hp.batch_size, (step + 1) * hp.batch_size)
                index = order[window]
                if images:
                    x = _to_input(augment_batch(padded[index], params[window], size, hp.cutout),
                                  device)
                else:
                    x = _to_input(padded[index], device)
                y = train_y_device[index]
                with _autocast(device, precision):
                    logits = net(x)
                loss = loss_fn(logits.float(), y)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                lr = optimizer.param_groups[0]["lr"]
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                loss_sum += loss.detach() * len(y)
                correct += (logits.argmax(1) == y).sum()
                bar.update(1)
            _synchronize(device)
            seconds = time.perf_counter() - started
            train_time += seconds
            seen = len(order)
            test_acc = None
            if (epoch + 1) % hp.eval_every == 0 or epoch + 1 == hp.epochs:
                test_acc = evaluate(model, test_x, test_y, tta_flip=hp.tta_flip and images,
                                    device=device)
            row = {
                "epoch": epoch + 1,
                "loss": loss_sum.item() / seen,
                "train_acc": correct.item() / seen,
                "test_acc": test_acc,
                "lr": lr,
                "images_per_s": seen / seconds,
                "wall_time": train_time,
            }
            history.append(row)
            bar.set_postfix(loss=f"{row['loss']:.3f}", train=f"{row['train_acc']:.3f}",
                            test="-" if test_acc is None else f"{test_acc:.3f}")
            if path is not None:
                _save_atomically({
                    "format": CHECKPOINT_FORMAT,
                    "architecture": _architecture(model),
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(),
                    "rng_data": generator.get_state(),
                    "rng_torch": torch.get_rng_state(),
                    "rng_cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                    "epoch": epoch + 1,
                    "history": history,
                    "train_time_s": train_time,
                    "hp": asdict(hp),
                    "data": data_info,
                }, path)
            if callback is not None:
                callback(row)
    finally:
        bar.close()

    model.eval()
    if not history:
        raise ValueError("hp.epochs must be >= 1: nothing was trained")
    final = history[-1]["test_acc"]
    seen_per_epoch = min(n, steps_per_epoch * hp.batch_size)
    images_per_s = seen_per_epoch * len(history) / train_time if train_time > 0 else 0.0
    return TrainResult(
        model=model, history=history, test_accuracy=final, train_time_s=train_time,
        images_per_s=images_per_s, device=str(device), hp=hp,
        loaded=start_epoch == hp.epochs, checkpoint_path=path,
    )


class _NoBar:
    def update(self, n: int = 1) -> None: ...
    def set_postfix(self, **values) -> None: ...
    def close(self) -> None: ...


def _progress_bar(progress: bool, **options):
    """A tqdm.auto bar (it renders as a widget in notebooks), or nothing at all."""
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(**options)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)

