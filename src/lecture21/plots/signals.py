"""Figures of the text and audio part: convolution along words, waveform and mel spectrogram.

Slides "CNN для текста" (a feature map aligned under the words it was computed from, global max
pooling to a fixed-length vector) and "CNN для аудио" (waveform and mel spectrogram, X axis time,
Y axis frequency in mel).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from lecture21.plots.base import _numpy

__all__ = [
    "plot_global_max_pooling",
    "plot_mel_filterbank",
    "plot_sentence_convolution",
    "plot_waveform_and_mel",
]


def _draw_words_map(ax, values: np.ndarray, offset: float, row_label: str, cmap: str,
                    decimals: int, vmax: float | None = None) -> None:
    """``values`` (rows, columns) drawn so that column t is centred at x = t + offset."""
    rows, columns = values.shape
    vmax = vmax if vmax is not None else max(float(np.abs(values).max()), 1e-12)
    ax.imshow(values, cmap=cmap, vmin=-vmax, vmax=vmax, aspect="auto",
              extent=(offset - 0.5, offset - 0.5 + columns, rows - 0.5, -0.5))
    for (i, j), value in np.ndenumerate(values):
        ax.text(j + offset, i, f"{value:.{decimals}f}", ha="center", va="center", fontsize=7,
                color="white" if abs(value) > 0.6 * vmax else "black")
    ax.set_yticks(range(rows), [f"{row_label} {i + 1}" for i in range(rows)], fontsize=8)


def _set_word_axis(ax, words: Sequence[str]) -> None:
    """The words as labels above the axes, one per column."""
    ax.xaxis.tick_top()
    ax.set_xticks(range(len(words)), words, rotation=35, fontsize=8, ha="left")
    ax.set_xlim(-0.5, len(words) - 0.5)


def plot_sentence_convolution(
    embeddings, feature_map, words: Sequence[str], width: int,
    highlight: tuple[int, int] | None = None, title: str | None = None, decimals: int = 2,
) -> plt.Figure:
    """The slide's picture: the sentence matrix (embedding x words) and the feature map under it.

    ``embeddings`` is ``(embed_dim, n)``, ``feature_map`` ``(filters, n - width + 1)``; output
    ``t`` sits under the middle of its window, words ``t .. t + width - 1``. ``highlight =
    (filter, t)`` frames one output and the window it was computed from.
    """
    embeddings, feature_map = _numpy(embeddings), _numpy(feature_map)
    n = len(words)
    if embeddings.ndim != 2 or embeddings.shape[1] != n:
        raise ValueError(f"embeddings must be (embed_dim, {n}) for {n} words, "
                         f"got {embeddings.shape}")
    if feature_map.ndim != 2 or feature_map.shape[1] != n - width + 1:
        raise ValueError(f"feature_map must be (filters, {n - width + 1}) for {n} words and "
                         f"width {width}, got {feature_map.shape}")
    rows = embeddings.shape[0] + feature_map.shape[0]
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(max(7.0, 1.0 * n), 0.5 * rows + 2.6),
        gridspec_kw={"height_ratios": [embeddings.shape[0], feature_map.shape[0]]},
    )
    _draw_words_map(top, embeddings, 0.0, "коорд.", "PuOr", decimals)
    _draw_words_map(bottom, feature_map, (width - 1) / 2, "фильтр", "RdBu_r", decimals)
    _set_word_axis(top, words)
    bottom.set_xlim(-0.5, n - 0.5)
    bottom.set_xticks([])
    top.set_ylabel("эмбеддинг")
    bottom.set_ylabel("карта признаков")
    bottom.set_xlabel(f"выход t стоит под серединой окна из {width} слов t … t+{width - 1}")
    if highlight is not None:
        f, t = highlight
        top.add_patch(Rectangle((t - 0.5, -0.5), width, embeddings.shape[0], fill=False,
                                edgecolor="crimson", linewidth=2.5))
        bottom.add_patch(Rectangle((t + (width - 1) / 2 - 0.5, f - 0.5), 1, 1, fill=False,
                                   edgecolor="crimson", linewidth=2.5))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_global_max_pooling(
    feature_maps: Sequence, sentences: Sequence[Sequence[str]], width: int,
    title: str | None = None, decimals: int = 2,
) -> plt.Figure:
    """Sentences of different length: maps of different width, pooled vectors of one size.

    ``feature_maps[i]`` is ``(filters, len(sentences[i]) - width + 1)``; each row's maximum is
    framed and copied into the vector on the right.
    """
    maps = [_numpy(m) for m in feature_maps]
    if len(maps) != len(sentences) or not maps:
        raise ValueError("feature_maps and sentences must be equally long and not empty")
    longest = max(len(s) for s in sentences)
    vmax = max(float(np.abs(m).max()) for m in maps) or 1.0
    fig, axes = plt.subplots(
        len(maps), 2, figsize=(max(7.0, 0.75 * longest + 2), 1.9 * len(maps) + 0.6),
        squeeze=False, gridspec_kw={"width_ratios": [longest, 1.6]},
    )
    for (ax, pooled_ax), values, words in zip(axes, maps, sentences):
        if values.shape[1] != len(words) - width + 1:
            raise ValueError(f"a map of {values.shape[1]} columns does not fit "
                             f"{len(words)} words and width {width}")
        offset = (width - 1) / 2
        _draw_words_map(ax, values, offset, "фильтр", "RdBu_r", decimals, vmax)
        _set_word_axis(ax, words)
        ax.set_xlim(-0.5, longest - 0.5)
        for f, t in enumerate(values.argmax(axis=1)):
            ax.add_patch(Rectangle((t + offset - 0.5, f - 0.5), 1, 1, fill=False,
                                   edgecolor="crimson", linewidth=2))
        pooled = values.max(axis=1, keepdims=True)
        _draw_words_map(pooled_ax, pooled, 0.0, "фильтр", "RdBu_r", decimals, vmax)
        pooled_ax.set_xticks([0], ["max"], fontsize=8)
        pooled_ax.set_yticks([])
        ax.set_ylabel(f"{len(words)} слов", fontsize=9)
    axes[0, 1].set_title("вектор", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_waveform_and_mel(
    wave, sample_rate: int, log_mel, hop_length: int, title: str | None = None,
    fmax: float | None = None,
) -> plt.Figure:
    """A recording and its log-mel spectrogram; as on the slide, X is time, Y frequency (mel)."""
    wave, log_mel = _numpy(wave).ravel(), _numpy(log_mel)
    if log_mel.ndim != 2:
        raise ValueError(f"log_mel must be (n_mels, frames), got {log_mel.shape}")
    n_mels, frames = log_mel.shape
    duration = len(wave) / sample_rate
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5.4), sharex=True,
                                      gridspec_kw={"height_ratios": [1, 1.6]})
    top.plot(np.arange(len(wave)) / sample_rate, wave, linewidth=0.6, color="tab:blue")
    top.set_ylabel("амплитуда")
    top.set_title("Звуковая волна", fontsize=10)
    image = bottom.imshow(
        log_mel, origin="lower", aspect="auto", cmap="magma",
        extent=(-0.5 * hop_length / sample_rate, (frames - 0.5) * hop_length / sample_rate,
                -0.5, n_mels - 0.5),
    )
    bottom.set_xlim(0, duration)
    bottom.set_xlabel("X — время, с")
    top_hz = (fmax or sample_rate / 2) / 1000
    bottom.set_ylabel(f"Y — частота (мел), полосы 0 … {top_hz:g} кГц")
    bottom.set_title("Мел-спектрограмма: яркость — сила частоты, дБ", fontsize=10)
    fig.colorbar(image, ax=[top, bottom], location="right", shrink=0.6, label="дБ")
    if title:
        fig.suptitle(title)
    return fig


def plot_mel_filterbank(bank, sample_rate: int, title: str | None = None) -> plt.Figure:
    """The triangular mel filters over linear frequency: narrow at low, wide at high pitch."""
    bank = _numpy(bank)
    hz = np.linspace(0, sample_rate / 2, bank.shape[1])
    fig, ax = plt.subplots(figsize=(8, 3))
    for row in bank:
        ax.plot(hz, row, linewidth=0.9)
    ax.set_xlabel("частота, Гц")
    ax.set_ylabel("вес")
    ax.set_title(title or f"Мел-фильтры: {bank.shape[0]} полос до {sample_rate // 2} Гц")
    fig.tight_layout()
    return fig


def _slide_convolution_figure() -> plt.Figure:
    from lecture21.text import slide_example

    example = slide_example()
    maps = example.model.feature_maps(example.ids, activate=False)[0][0].detach()
    embeddings = example.model.embed(example.ids)[0].detach()
    return plot_sentence_convolution(embeddings, maps, example.words, 3, highlight=(0, 4),
                                     title="Свёртка ширины 3 по словам предложения", decimals=1)


def _mel_filterbank_figure() -> plt.Figure:
    from lecture21.audio import mel_filterbank

    return plot_mel_filterbank(mel_filterbank(8000, 256, 32), 8000)


FIGURES = {
    "text-convolution": _slide_convolution_figure,
    "mel-filterbank": _mel_filterbank_figure,
}
