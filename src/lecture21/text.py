"""What a text CNN computes, slide "CNN для текста": the slide's worked example, a convolution
output by hand, and which n-grams a trained filter responds to (beside ``audio``, the slide
"CNN для аудио"). The model itself is ``lecture21.models.text_cnn.TextCNN`` (Kim, 2014).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from lecture21.data.text import SLIDE_SENTENCE, Vocabulary, tokenize
from lecture21.helpers import eval_mode
from lecture21.models.text_cnn import TextCNN

__all__ = [
    "SlideExample",
    "conv_output_by_hand",
    "influential_filters",
    "slide_example",
    "strongest_ngrams",
]


@dataclass(frozen=True)
class SlideExample:
    """The slide's worked example: its words, their ids ``(1, n)`` and the small model."""

    model: TextCNN
    vocab: Vocabulary
    words: list[str]
    ids: torch.Tensor


def slide_example(sentence: str = SLIDE_SENTENCE, embed_dim: int = 4, filters: int = 3,
                  width: int = 3, seed: int = 0, decimals: int | None = 1) -> SlideExample:
    """The slide "CNN для текста": each word a 4-dimensional embedding, 3 filters of width 3.

    A :class:`TextCNN` with one width, its random (seeded) parameters rounded to ``decimals``
    so that a sum of products can be checked by hand; the vocabulary is the sentence's words.
    """
    words = tokenize(sentence)
    if len(words) < width:
        raise ValueError(f"sentence must have at least {width} words, got {len(words)}")
    vocab = Vocabulary(words)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = TextCNN(len(vocab), 2, embed_dim, (width,), filters, dropout=0.0).eval()
    finally:
        torch.random.set_rng_state(generator_state)  # the caller's random stream is untouched
    if decimals is not None:
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.copy_(parameter.round(decimals=decimals))
    ids = torch.tensor([vocab.encode(words)])
    return SlideExample(model, vocab, words, ids)


def conv_output_by_hand(
    weight: torch.Tensor, bias: torch.Tensor | None, x: torch.Tensor, filter_index: int,
    position: int, decimals: int = 2,
) -> tuple[float, str]:
    """One output of ``Conv1d`` computed as a written-out sum of products, with plain floats.

    ``weight`` is ``(filters, channels, width)``, ``x`` one sentence ``(channels, L)``. Output
    ``[filter, t] = bias + sum over channel c and offset j of weight[filter, c, j] * x[c, t + j]``.
    Returns the value and the sum as text (numbers rounded to ``decimals`` for reading only).
    """
    filters, channels, width = weight.shape
    if not 0 <= filter_index < filters:
        raise ValueError(f"filter_index must be in [0, {filters}), got {filter_index!r}")
    if x.ndim != 2 or x.shape[0] != channels:
        raise ValueError(f"x must be one sentence ({channels}, L), got {tuple(x.shape)}")
    if not 0 <= position <= x.shape[1] - width:
        raise ValueError(f"position must be in [0, {x.shape[1] - width}], got {position!r}")
    w, v = weight.detach().tolist(), x.detach().tolist()
    shift = None if bias is None else float(bias.detach()[filter_index])

    def number(value: float) -> str:  # negative numbers in brackets: "0.20·(-0.60)"
        written = f"{value:.{decimals}f}"
        return f"({written})" if written.startswith("-") else written

    total = 0.0 if shift is None else shift
    terms = []
    for j in range(width):  # word t + j ...
        for c in range(channels):  # ... its c-th embedding coordinate
            weight_value, input_value = w[filter_index][c][j], v[c][position + j]
            total += weight_value * input_value
            terms.append(f"{number(weight_value)}·{number(input_value)}")
    if shift is not None:
        terms.append(number(shift))
    text = " + ".join(terms)
    return total, text


@torch.no_grad()
def strongest_ngrams(
    model: TextCNN, ids: torch.Tensor, words: Sequence[str], width: int,
    filter_indices: Sequence[int], top: int = 3, pad_id: int = 0,
) -> dict[int, list[tuple[str, float, int]]]:
    """For each chosen filter of ``width``: the word n-grams it responds to most.

    A filter's response to a window depends only on the window's ``width`` words, so every
    distinct n-gram occurring in ``ids`` has one response. Returns, per filter, the ``top``
    n-grams as ``(n-gram, response before ReLU, how often it occurs)``, strongest first.
    Windows that reach into padding are left out (their n-gram is not a real one).
    """
    if width not in model.widths:
        raise ValueError(f"width must be one of the model's widths {model.widths}, got {width!r}")
    with eval_mode(model):
        maps = model.feature_maps(ids, activate=False)[model.widths.index(width)]
    windows = ids.unfold(1, width, 1)  # (N, L - w + 1, w), aligned with maps' last axis
    real = (windows != pad_id).all(dim=2)
    grams, inverse, counts = torch.unique(windows[real], dim=0, return_inverse=True,
                                          return_counts=True)
    responses = maps.transpose(1, 2)[real]  # (windows, F)
    # The mean over a gram's occurrences: equal values, up to float rounding across positions.
    per_gram = torch.zeros(len(grams), responses.shape[1]).index_add_(0, inverse, responses)
    per_gram /= counts[:, None]
    result = {}
    for f in filter_indices:
        if not 0 <= f < responses.shape[1]:
            raise ValueError(f"filter indices must be in [0, {responses.shape[1]}), got {f!r}")
        best = per_gram[:, f].topk(min(top, len(grams))).indices
        result[int(f)] = [
            (" ".join(words[int(i)] for i in grams[g]), float(per_gram[g, f]), int(counts[g]))
            for g in best
        ]
    return result


def influential_filters(model: TextCNN, width: int, k: int = 4) -> list[int]:
    """The ``k`` filters of ``width`` whose pooled output moves the logits most apart.

    For two classes this is ``|w_1 - w_0|`` of the filter's column in the linear layer; for
    more classes, the spread (max - min) of that column.
    """
    if width not in model.widths:
        raise ValueError(f"width must be one of the model's widths {model.widths}, got {width!r}")
    filters = model.convs[0].out_channels
    start = model.widths.index(width) * filters
    column = model.classifier.weight.detach()[:, start:start + filters]
    spread = column.amax(dim=0) - column.amin(dim=0)
    return spread.topk(min(k, filters)).indices.tolist()
