"""Slide "Развитие глубоких нейросетей": the ILSVRC entries' top-5 error and depth by year."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt

__all__ = ["depth_and_error"]

_LABEL = {"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1}


def depth_and_error(rows: Sequence, human: float | None = None) -> plt.Figure:
    """Top-5 error (bars, left axis) and weight-layer depth (points, logarithmic right axis)
    of ``rows`` (``weight_depth.depth_by_year()``); entries without a network are grey."""
    if not rows:
        raise ValueError("rows must hold at least one entry of weight_depth.depth_by_year()")
    fig, ax = plt.subplots(figsize=(8.5, 3.8))
    x = range(len(rows))
    colours = ["#8c8c8c" if r.depth is None else "#4c72b0" if r.winner else "#9fb6d8"
               for r in rows]
    bars = ax.bar(x, [r.top5_error for r in rows], color=colours)
    ax.bar_label(bars, labels=[f"{r.top5_error:g} %" for r in rows], fontsize=8)
    if human is not None:
        ax.axhline(human, color="C3", linestyle="--", linewidth=1)
        ax.text(len(rows) - 0.6, human + 0.5, f"человек {human:g} %", color="C3", fontsize=8,
                ha="right", bbox=_LABEL)
    ax.set_xticks(list(x), [f"{r.year}\n{r.model}" for r in rows], fontsize=7)
    ax.set_ylabel("top-5 ошибка, %")
    deep = [(i, r.depth) for i, r in enumerate(rows) if r.depth is not None]
    right = ax.twinx()
    right.plot([i for i, _ in deep], [d for _, d in deep], "o-", color="C1")
    for i, d in deep:
        right.annotate(f"{d} слоёв", (i, d), textcoords="offset points", xytext=(0, 7),
                       ha="center", fontsize=8, color="C1", bbox=_LABEL)
    right.set_yscale("log")
    right.set_ylim(1, 600)
    right.set_ylabel("слоёв с весами (лог. шкала)", color="C1")
    ax.set_title("ILSVRC: ошибка падает, глубина растёт (серые — без нейросети)")
    fig.tight_layout()
    return fig
