"""The typical CNN of the slide "Свёрточные сети для изображений".

Convolutions with non-linearities extract features, pooling shrinks the map, an MLP with dropout
classifies. It is built so that the slide "Особенности CNN" can be checked on it: most of the
computation sits in the convolutions, most of the parameters in the MLP.
"""

from __future__ import annotations

import torch
from torch import nn

from lecture21.models.init import initialise
from lecture21.models.registry import register


class ConvBlock(nn.Sequential):
    """Two 3x3 convolutions with ReLU, then 2x2 max pooling: halves the map's side."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )


class SimpleCNN(nn.Module):
    """Feature extractor (``features``) followed by an MLP classifier (``classifier``)."""

    def __init__(
        self,
        num_classes: int = 10,
        widths: tuple[int, ...] = (32, 64),
        hidden: int = 512,
        dropout: float = 0.5,
        image_size: int = 32,
    ) -> None:
        super().__init__()
        if not widths:
            raise ValueError("widths must name at least one block's channels, got ()")
        if any(not isinstance(w, int) or isinstance(w, bool) or w < 1 for w in widths):
            raise ValueError(f"widths must be positive ints, got {widths!r}")
        for name, value in (("num_classes", num_classes), ("hidden", hidden)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not isinstance(image_size, int) or image_size < 2 ** len(widths):
            raise ValueError(f"image_size must be an int >= {2 ** len(widths)} for "
                             f"{len(widths)} pooling blocks, got {image_size!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        channels = (3, *widths)
        self.features = nn.Sequential(
            *(ConvBlock(c_in, c_out) for c_in, c_out in zip(channels, channels[1:]))
        )
        side = image_size // 2 ** len(widths)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(widths[-1] * side * side, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@register("simple_cnn", variants=("cifar",))
def simple_cnn(
    variant: str = "cifar",
    num_classes: int = 10,
    widths: tuple[int, ...] = (32, 64),
    hidden: int = 512,
    dropout: float = 0.5,
    init: str = "default",
) -> SimpleCNN:
    """The lecture's typical CNN for 32x32 images; ``init="kaiming"``: He et al. (2015)
    initialisation (``lecture21.models.init``)."""
    return initialise(SimpleCNN(num_classes, widths, hidden, dropout), init)
