"""Learning curves of the training engine's history (slide "Обучение CNN").

``history`` is ``TrainResult.history``: one dict per epoch with epoch, loss, train_acc,
test_acc (``None`` on epochs that were not evaluated), lr, images_per_s and wall_time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt

__all__ = ["accuracy_by_epoch", "compare_runs", "learning_curves"]

_KEYS = ("epoch", "loss", "train_acc", "test_acc", "lr")


def _check_history(history: Sequence[Mapping], name: str = "history") -> None:
    if not history:
        raise ValueError(f"{name} is empty: train for at least one epoch")
    missing = sorted({k for row in history for k in _KEYS if k not in row})
    if missing:
        raise ValueError(f"{name} rows must have the keys {_KEYS}; missing {missing}")


def learning_curves(history: Sequence[Mapping], title: str = "Кривые обучения") -> plt.Figure:
    """Loss, train and test accuracy, and learning rate by epoch, in three panels."""
    _check_history(history)
    epochs = [row["epoch"] for row in history]
    fig, (ax_loss, ax_acc, ax_lr) = plt.subplots(1, 3, figsize=(12, 3.4))
    ax_loss.plot(epochs, [row["loss"] for row in history], marker="o")
    ax_loss.set_title("функция потерь (обучение)")
    ax_acc.plot(epochs, [row["train_acc"] for row in history], marker="o", label="обучение")
    tested = [(row["epoch"], row["test_acc"]) for row in history if row["test_acc"] is not None]
    if tested:
        ax_acc.plot(*zip(*tested, strict=True), marker="s", label="тест")
    ax_acc.set_title("точность")
    ax_acc.set_ylim(0, 1)
    ax_acc.legend()
    ax_lr.plot(epochs, [row["lr"] for row in history], marker=".")
    ax_lr.set_title("скорость обучения (конец эпохи)")
    for ax in (ax_loss, ax_acc, ax_lr):
        ax.set_xlabel("эпоха")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def compare_runs(
    histories: Mapping[str, Sequence[Mapping]], title: str = "Точность на тесте по времени"
) -> plt.Figure:
    """Test accuracy against training time (seconds) for several runs, one line per run."""
    if not histories:
        raise ValueError("histories must name at least one run")
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for name, history in histories.items():
        _check_history(history, f"history of {name!r}")
        if any("wall_time" not in r for r in history):
            raise ValueError(f"history of {name!r} has rows without 'wall_time'")
        points = [(r["wall_time"], r["test_acc"]) for r in history if r["test_acc"] is not None]
        ax.plot(*zip(*points, strict=True), marker="o", label=name)
    ax.set_xlabel("время обучения, с")
    ax.set_ylabel("точность на тесте")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    return fig


def accuracy_by_epoch(histories: Mapping[str, Sequence[Mapping]],
                      title: str = "Точность по эпохам") -> plt.Figure:
    """Train and test accuracy by epoch, one panel per run, on one shared accuracy axis."""
    if not histories:
        raise ValueError("histories must name at least one run")
    fig, axes = plt.subplots(1, len(histories), figsize=(4 * len(histories), 3), sharey=True,
                             squeeze=False)
    for ax, (name, history) in zip(axes[0], histories.items()):
        _check_history(history, f"history of {name!r}")
        epochs = [row["epoch"] for row in history]
        ax.plot(epochs, [row["train_acc"] for row in history], "o-", label="обучение")
        tested = [(row["epoch"], row["test_acc"]) for row in history
                  if row["test_acc"] is not None]
        if tested:
            ax.plot(*zip(*tested, strict=True), "s-", label="тест")
        ax.set_title(name)
        ax.set_xlabel("эпоха")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("точность")
    axes[0, 0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig
