"""The training loop every notebook uses: :func:`fit`.

The recipe is the fast CIFAR-10 one of the slide "Обучение CNN" and of Page's DAWNBench notes
("How to train your ResNet", 2018) and Keller Jordan's airbench (2024): the whole data set lives
on the device, augmentation happens there in batch (``augment.py``), SGD with Nesterov momentum
(Sutskever et al., 2013) under a per-step warmup-and-decay schedule (the one-cycle policy of
Smith & Topin, 2017), label smoothing (Szegedy et al., 2016), no weight decay on norms and
biases, ``channels_last`` and mixed precision on CUDA (``precision.py``), optional
``torch.compile``. As in airbench, the loop is: a batch iterator yielding augmented ``(x, y)``
on the device, one optimisation step per batch, one history row per epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from lecture21.config import seed_everything
from lecture21.data import Dataset
from lecture21.helpers import eval_mode
from lecture21.train.augment import augment_batch, draw_params, pad
from lecture21.train.checkpoints import load_checkpoint, save_checkpoint
from lecture21.train.evaluation import autocast, evaluate, resolve_device, to_input
from lecture21.train.precision import Precision, choose_precision, make_scaler
from lecture21.train.recipes import HyperParams

__all__ = ["Batches", "TrainResult", "TrainingDiverged", "fit"]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite: the run stopped, and nothing of it was kept."""


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


class Batches:
    """The training split on the device, cut into ``steps`` batches per epoch; images are
    padded once and augmented per batch (random crop, flip, Cutout), other data go as they are.
    A batch of one is dropped (it breaks batch norm)."""

    def __init__(self, data: Dataset, hp: HyperParams, device: torch.device) -> None:
        self.hp, self.device, self.augmented = hp, device, data.augmented
        self.n = len(data.train_x)
        self.steps = math.ceil(self.n / hp.batch_size)
        if self.n > 1 and self.n % hp.batch_size == 1:
            self.steps -= 1
        x = data.train_x.to(device)
        self.x = pad(x, hp.crop_padding) if self.augmented else x
        self.y = data.train_y.to(device)
        self.size = data.train_x.shape[1] if self.augmented else 0

    def epoch(self, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of ``(x, y)`` in a random order drawn from ``generator`` (on the CPU)."""
        hp = self.hp
        order = torch.randperm(self.n, generator=generator)[: self.steps * hp.batch_size]
        if self.augmented:
            params = draw_params(self.n, self.size, hp.crop_padding, hp.flip, hp.cutout, generator)
            params = params[order].to(self.device)
        order = order.to(self.device)
        for step in range(self.steps):
            window = slice(step * hp.batch_size, (step + 1) * hp.batch_size)
            index = order[window]
            x = self.x[index]
            if self.augmented:
                x = augment_batch(x, params[window], self.size, hp.cutout)
            yield to_input(x, self.device), self.y[index]

    @property
    def per_epoch(self) -> int:
        """Examples seen per epoch."""
        return min(self.n, self.steps * self.hp.batch_size)


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


def _check_fits(model: nn.Module, data: Dataset, device: torch.device) -> None:
    """A clear error when the model cannot take the data's inputs or has the wrong outputs."""
    if data.augmented and data.train_x.shape[1] != data.train_x.shape[2]:
        raise ValueError(f"images must be square, got {tuple(data.train_x.shape[1:3])}")
    with torch.no_grad(), eval_mode(model):
        try:
            width = model(to_input(data.train_x[:2], device)).shape[-1]
        except RuntimeError as error:
            raise ValueError(
                f"the model cannot take this data's inputs of shape "
                f"{tuple(data.train_x.shape[1:])} and dtype {data.train_x.dtype}: {error}"
            ) from error
    if width != data.num_classes:
        raise ValueError(
            f"the model outputs {width} logits but the data have {data.num_classes} classes"
        )


def _diverged(path: Path | None, epoch: int, step: int, loss: float | None, lr: float) -> None:
    """Stop a run whose loss is not finite; its checkpoint (if any) is removed."""
    if path is not None:
        path.unlink(missing_ok=True)
    loss_text = "" if loss is None else f" ({loss})"
    raise TrainingDiverged(
        f"training diverged: the loss is not finite{loss_text} at epoch {epoch + 1}, step "
        f"{step + 1}, learning rate {lr:.3g}; lower the learning rate (hp.lr, --lr) or check the "
        "inputs for NaN or infinite values" + ("; nothing was kept" if path is not None else "")
    )


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def fit(
    model: nn.Module,
    data: Dataset,
    hp: HyperParams | None = None,
    *,
    device: torch.device | str | None = None,
    progress: bool = True,
    checkpoint_path: str | Path | None = None,
    callback: Callable[[dict], None] | None = None,
    precision: Precision | str | None = None,
    key: str | None = None,
) -> TrainResult:
    """Train ``model`` on ``data`` as given (no subsetting here; see ``train_or_load``).

    ``data`` is any :class:`lecture21.data.Dataset` (images are augmented on the device).
    ``hp`` defaults to ``HyperParams.for_profile()``. With ``checkpoint_path`` the state is
    saved there after every epoch; if the file exists the run resumes from it, and if it is a
    finished run, nothing is trained and the stored result is returned (``loaded=True``).
    ``callback(row)`` is called with each epoch's history row, after the checkpoint is saved.
    ``precision``: ``bf16``, ``fp16`` (with loss scaling), ``fp32`` or ``auto`` (default:
    ``$LECTURE21_PRECISION``, else what the device supports; ``lecture21.train.precision``).
    ``key`` (``train_or_load``'s run key) is stored in the checkpoint; an existing checkpoint
    with another key is refused (a file swapped in from another run is never returned; one
    without a key, written before keys were stored, is still checked as below).
    A NaN or infinite loss raises :class:`TrainingDiverged` (epoch, step, learning rate) and
    removes the run's checkpoint: on the CPU it is checked at every step (the sync costs
    nothing there), elsewhere the first bad step is recorded on the device and checked once per
    epoch, so the GPU never waits on the host.
    Returns a :class:`TrainResult` whose model is in eval mode.
    """
    hp = hp if hp is not None else HyperParams.for_profile()
    if not isinstance(hp, HyperParams):
        raise ValueError(f"hp must be a HyperParams, got {type(hp).__name__}")
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(data, Dataset):
        raise ValueError(f"data must be a lecture21.data.Dataset, got {type(data).__name__}")
    device = resolve_device(device)
    seed_everything(hp.seed)
    model.to(device)
    if data.augmented:
        model.to(memory_format=torch.channels_last)
    _check_fits(model, data, device)

    batches = Batches(data, hp, device)
    total_steps = hp.epochs * batches.steps
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
    data_info = {"train": batches.n, "test": len(data.test_x), "classes": list(data.classes)}
    path = Path(checkpoint_path) if checkpoint_path is not None else None
    if path is not None and path.exists():
        state = load_checkpoint(path, model)
        # a checkpoint written before keys were stored (None) is accepted: it is still checked
        # against the architecture, hyperparameters and data sizes below
        if key is not None and state.get("key") not in (None, key):
            raise ValueError(
                f"checkpoint {path} belongs to another run (key {state.get('key')}, this run's "
                f"is {key}): it was swapped or written by other code; delete it"
            )
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
        history, train_time = state["history"], state["train_time_s"]
    start_epoch = len(history)

    net = torch.compile(model) if hp.compile and start_epoch < hp.epochs else model
    with tqdm(total=total_steps, initial=start_epoch * batches.steps, disable=not progress,
              desc=type(model).__name__, unit="step", leave=False) as bar:
        for epoch in range(start_epoch, hp.epochs):
            model.train()
            _synchronize(device)
            started = time.perf_counter()
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device, dtype=torch.long)
            first_bad = torch.full((), -1, device=device, dtype=torch.long)
            for step, (x, y) in enumerate(batches.epoch(generator)):
                with autocast(device, precision):
                    logits = net(x)
                loss = loss_fn(logits.float(), y)
                if device.type == "cpu":
                    if not torch.isfinite(loss):
                        _diverged(path, epoch, step, loss.item(), hp.lr * schedule(
                            epoch * batches.steps + step))
                else:  # no host sync per step: remember the first bad step on the device
                    first_bad = torch.where((first_bad < 0) & ~torch.isfinite(loss),
                                            step, first_bad)
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
            if (bad := int(first_bad)) >= 0:
                _diverged(path, epoch, bad, None,
                          hp.lr * schedule(epoch * batches.steps + bad))
            train_time += seconds
            test_acc = None
            if (epoch + 1) % hp.eval_every == 0 or epoch + 1 == hp.epochs:
                test_acc = evaluate(model, data.test_x, data.test_y,
                                    tta_flip=hp.tta_flip and data.augmented, device=device)
            seen = batches.per_epoch
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
                save_checkpoint(
                    path, model, optimizer=optimizer.state_dict(),
                    scheduler=scheduler.state_dict(), scaler=scaler.state_dict(),
                    rng_data=generator.get_state(),
                    rng_torch=torch.get_rng_state(),
                    rng_cuda=torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                    epoch=epoch + 1, history=history, train_time_s=train_time, hp=asdict(hp),
                    data=data_info, key=key,
                )
            if callback is not None:
                callback(row)

    model.eval()
    if not history:
        raise ValueError("hp.epochs must be >= 1: nothing was trained")
    images_per_s = batches.per_epoch * len(history) / train_time if train_time > 0 else 0.0
    return TrainResult(
        model=model, history=history, test_accuracy=history[-1]["test_acc"],
        train_time_s=train_time, images_per_s=images_per_s, device=str(device), hp=hp,
        loaded=start_epoch == hp.epochs, checkpoint_path=path,
    )
