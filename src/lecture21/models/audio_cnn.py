"""A small 2-D CNN on log-mel spectrograms (slide "CNN для аудио").

The spectrogram is treated as a one-channel image: X axis time, Y axis mel frequency. 3x3
convolutions find local time-frequency patterns (formant transitions, bursts), pooling widens
their view, and global average pooling over time and frequency makes the prediction independent
of where in the recording the word was spoken. Trained on the Free Spoken Digit Dataset.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lecture21.models.registry import register


class DecibelScale(nn.Module):
    """Maps decibels below the peak, ``[-top_db, 0]``, linearly onto ``[-1, 1]``; no parameters.

    The input is already measured against each recording's own peak, so a fixed map is enough;
    on FSDD it also learned faster and evaluated more steadily than a BatchNorm on the input.
    """

    def __init__(self, top_db: float = 80.0) -> None:
        super().__init__()
        if not top_db > 0:
            raise ValueError(f"top_db must be positive, got {top_db!r}")
        self.top_db = float(top_db)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (2.0 / self.top_db) + 1.0

    def extra_repr(self) -> str:
        return f"top_db={self.top_db}"


class ConvBNBlock(nn.Sequential):
    """3x3 convolution, batch normalisation, ReLU, then 2x2 max pooling (halves both axes)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )


class AudioCNN(nn.Module):
    """Decibel scale -> conv blocks -> global average pool -> dropout -> linear.

    Input: log-mel spectrograms ``(N, n_mels, frames)`` or ``(N, 1, n_mels, frames)`` in dB
    below each recording's peak (``lecture21.audio.log_mel_spectrogram``, ``ref="max"``).
    """

    def __init__(self, num_classes: int = 10, widths: Sequence[int] = (16, 32, 64),
                 dropout: float = 0.3, top_db: float = 80.0) -> None:
        super().__init__()
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
        if not widths or any(not isinstance(w, int) or w < 1 for w in widths):
            raise ValueError(f"widths must be positive ints, got {widths!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        channels = (1, *widths)
        self.scale = DecibelScale(top_db)
        self.features = nn.Sequential(
            *(ConvBNBlock(c_in, c_out) for c_in, c_out in zip(channels, channels[1:]))
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(widths[-1], num_classes)
        self.min_side = 2 ** len(widths)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 3:
            x = x.unsqueeze(1)
        if x.ndim != 4 or x.shape[1] != 1 or not x.is_floating_point():
            raise ValueError(
                f"x must be float spectrograms (N, n_mels, frames) or (N, 1, n_mels, frames), "
                f"got {x.dtype} {tuple(x.shape)}"
            )
        if min(x.shape[-2:]) < self.min_side:
            raise ValueError(
                f"spectrograms must be at least {self.min_side} bands and frames for "
                f"{len(self.features)} pooling steps, got {tuple(x.shape[-2:])}"
            )
        x = self.features(self.scale(x))
        return self.classifier(self.dropout(self.pool(x).flatten(1)))


@register("audio_cnn", variants=("audio",))
def audio_cnn(
    variant: str = "audio",
    num_classes: int = 10,
    widths: tuple[int, ...] = (16, 32, 64),
    dropout: float = 0.3,
) -> AudioCNN:
    """A small CNN for log-mel spectrograms of spoken digits."""
    return AudioCNN(num_classes, widths, dropout)
