"""Figures of the ResNet experiments (``lecture21.depth`` and the training engine's history).

* :func:`training_error` -- training error against epochs, plain and residual networks (figure 6
  of He et al. 2016: the degradation problem);
* :func:`gradient_norms` -- the gradient norm of every convolution at initialisation;
* :func:`block_deletions` -- accuracy of a trained network with blocks deleted (figures 3 and 5a
  of Veit et al. 2016).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["block_deletions", "gradient_norms", "training_error"]


def _style(name: str) -> str:
    return "--" if "plain" in name.lower() else "-"


def training_error(histories: Mapping[str, Sequence[Mapping]],
                   title: str = "Ошибка на обучающей выборке") -> plt.Figure:
    """Training error (1 - train_acc of each epoch) against epochs, one line per run; plain
    networks (a name with "plain") dashed, as in figure 6 of He et al."""
    if not histories:
        raise ValueError("histories must name at least one run")
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for name, history in histories.items():
        if not history or any("train_acc" not in r for r in history):
            raise ValueError(f"history of {name!r} must be non-empty rows with 'train_acc'")
        ax.plot([r["epoch"] for r in history], [100 * (1 - r["train_acc"]) for r in history],
                _style(name), marker="o", label=name)
    ax.set_xlabel("эпоха")
    ax.set_ylabel("ошибка на обучении, %")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    return fig


def gradient_norms(norms: Mapping[str, Mapping[str, float]],
                   title: str = "Норма градиента по слоям при инициализации") -> plt.Figure:
    """``||dL/dW||`` of every convolution, input to output (``lecture21.depth.
    layer_gradient_norms``), one line per network, logarithmic scale."""
    if not norms or any(not layer for layer in norms.values()):
        raise ValueError("norms must map each network to a non-empty {layer: norm}")
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for name, layer in norms.items():
        ax.semilogy(range(1, len(layer) + 1), list(layer.values()), _style(name), label=name)
    ax.set_xlabel("номер свёрточного слоя (от входа к выходу)")
    ax.set_ylabel("норма градиента весов")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    return fig


def block_deletions(single: Mapping[str, Mapping[str, float]], intact: Mapping[str, float],
                    random: Mapping[str, Mapping[int, Sequence[float]]],
                    title: str = "Удаление блоков обученной сети") -> plt.Figure:
    """Left: test accuracy with each block deleted alone (``single[network][block]``, the
    intact network's ``intact[network]`` as a line); right: accuracy against the number of
    randomly deleted blocks (mean and range of the draws), Veit et al. figures 3 and 5a."""
    if not single or set(intact) < set(single):
        raise ValueError("single must be non-empty and intact must give every network's accuracy")
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    for (name, accuracies), color in zip(single.items(), plt.cm.tab10.colors, strict=False):
        left.plot(range(1, len(accuracies) + 1), [100 * a for a in accuracies.values()],
                  _style(name), marker=".", color=color, label=f"{name}: удалён один блок")
        left.axhline(100 * intact[name], color=color, lw=0.8, ls=":",
                     label=f"{name} целиком")
    left.set_xlabel("номер удалённого блока")
    left.set_ylabel("точность на тесте, %")
    left.grid(alpha=0.3)
    left.legend(fontsize=7)
    for (name, draws), color in zip(random.items(), plt.cm.tab10.colors, strict=False):
        ks = sorted(draws)
        values = [100 * np.asarray(draws[k]) for k in ks]
        right.plot(ks, [v.mean() for v in values], _style(name), marker="o", color=color,
                   label=name)
        right.fill_between(ks, [v.min() for v in values], [v.max() for v in values],
                           color=color, alpha=0.2)
    right.set_xlabel("число удалённых случайных блоков k")
    right.set_ylabel("точность на тесте, %")
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
