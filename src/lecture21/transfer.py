"""VGG's features reused on another task: a frozen network as a feature extractor and a linear
classifier on top. Slide "VGG: перенос признаков".

Simonyan & Zisserman (2014, appendix B) take the last hidden layers of their ImageNet VGG as
image features for other data sets (VOC, Caltech) and train only a linear SVM on them; the
same idea, on a small scale, runs here in a few CPU seconds: the output of ``features`` (the
convolutional part) averaged over positions, then logistic regression (scikit-learn).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lecture21.data import normalize
from lecture21.helpers import eval_mode

__all__ = ["linear_probe", "pixel_features", "pooled_features"]


def pooled_features(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """``model.features`` of uint8 ``(N, H, W, 3)`` images, averaged over positions: an
    ``(N, channels)`` array. The model is left as it was found (mode, gradients)."""
    if not isinstance(getattr(model, "features", None), nn.Module):
        raise ValueError("model must have a `features` module (the convolutional part)")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    device = next(model.parameters()).device
    out = []
    with eval_mode(model), torch.no_grad():
        for chunk in images.split(batch_size):
            maps = model.features(normalize(chunk.to(device)))
            out.append(maps.mean((2, 3)).float().cpu())
    return torch.cat(out).numpy()


def pixel_features(images: torch.Tensor) -> np.ndarray:
    """The raw pixels as features: uint8 ``(N, H, W, 3)`` -> ``(N, H*W*3)`` floats in [0, 1]."""
    return images.reshape(len(images), -1).float().numpy() / 255


def linear_probe(train_x: np.ndarray, train_y, test_x: np.ndarray, test_y,
                 c: float = 1.0) -> float:
    """Test accuracy of a logistic regression (features standardised on the training set)
    trained on ``train_x``: how linearly separable the classes are in these features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise ValueError("train_x/train_y and test_x/test_y must have the same lengths")
    if not c > 0:
        raise ValueError(f"c must be > 0, got {c!r}")
    classifier = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    classifier.fit(train_x, np.asarray(train_y))
    return float(classifier.score(test_x, np.asarray(test_y)))
