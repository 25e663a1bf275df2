"""A CNN over words: Kim (2014), "Convolutional Neural Networks for Sentence Classification".

Slide "CNN для текста": every word is an embedding vector, so a sentence is a matrix
``words x embedding``; a 1-D convolution of width ``k`` slides along the words and looks at
``k`` neighbouring words at once, i.e. it detects an n-gram. Global max pooling over time keeps
each filter's strongest response wherever it occurred, so sentences of any length become a
vector of fixed size (one number per filter), which a linear layer classifies.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

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
