"""A CNN over words: Kim (2014), "Convolutional Neural Networks for Sentence Classification".

Slide "CNN для текста": every word is an embedding vector, so a sentence is a matrix
``words x embedding``; a 1-D convolution of width ``k`` slides along the words and looks at
``k`` neighbouring words at once, i.e. it detects an n-gram. Global max pooling over time keeps
each filter's strongest response wherever it occurred, so sentences of any length become a
vector of fixed size (one number per filter), which a linear layer classifies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from lecture21.data.text import SLIDE_SENTENCE, Vocabulary, tokenize
from lecture21.models.registry import register


class TextCNN(nn.Module):
    """Embedding -> parallel Conv1d of several widths -> ReLU -> global max pool -> linear.

    ``widths`` are the filter widths in words (Kim: 3, 4, 5), ``filters`` the number of filters
    of each width (Kim: 100). Input: int64 word ids ``(N, L)`` with ``L >= max(widths)``.
    """

    def __init__(
        self, vocab_size: int, num_classes: int = 2, embed_dim: int = 32,
        widths: Sequence[int] = (3, 4, 5), filters: int = 32, dropout: float = 0.5,
        padding_idx: int | None = 0,
    ) -> None:
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("embed_dim", embed_dim),
                            ("filters", filters), ("num_classes", num_classes)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not widths or any(not isinstance(w, int) or w < 1 for w in widths):
            raise ValueError(f"widths must be positive ints, got {widths!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.widths = tuple(widths)
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, filters, w) for w in self.widths)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(filters * len(self.widths), num_classes)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Word ids ``(N, L)`` -> channels-first embeddings ``(N, embed_dim, L)`` for Conv1d."""
        if ids.dtype != torch.int64 or ids.ndim != 2:
            raise ValueError(
                f"ids must be an int64 tensor (N, L), got {ids.dtype} {tuple(ids.shape)}"
            )
        if ids.shape[1] < max(self.widths):
            raise ValueError(
                f"sentences must be at least {max(self.widths)} words long (the widest filter); "
                f"pad them, got length {ids.shape[1]}"
            )
        return self.embedding(ids).transpose(1, 2)

    def feature_maps(self, ids: torch.Tensor, activate: bool = True) -> list[torch.Tensor]:
        """One map ``(N, filters, L - w + 1)`` per width ``w``: each filter at each position."""
        x = self.embed(ids)
        maps = [conv(x) for conv in self.convs]
        return [torch.relu(m) for m in maps] if activate else maps

    def features(self, ids: torch.Tensor) -> torch.Tensor:
        """Global max pooling over time: ``(N, filters * len(widths))`` for any length L."""
        return torch.cat([m.amax(dim=2) for m in self.feature_maps(ids)], dim=1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.features(ids)))


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
    was_training = model.training
    model.eval()
    try:
        maps = model.feature_maps(ids, activate=False)[model.widths.index(width)]
    finally:
        model.train(was_training)
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


@register("text_cnn", variants=("text",))
def text_cnn(
    variant: str = "text",
    num_classes: int = 2,
    vocab_size: int = 64,
    embed_dim: int = 32,
    widths: tuple[int, ...] = (3, 4, 5),
    filters: int = 32,
    dropout: float = 0.5,
) -> TextCNN:
    """Kim's (2014) CNN for sentence classification, small: for the generated n-gram task."""
    return TextCNN(vocab_size, num_classes, embed_dim, widths, filters, dropout)
