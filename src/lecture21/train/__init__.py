"""The course's training engine (issue 3): one ``fit`` for every notebook, and its command line.

* :func:`fit` trains a model on an ``ImageData`` (augmented on the device) or a
  :class:`TensorData`, with checkpoints and resumption; :func:`train_or_load` caches runs;
* :func:`evaluate` / :func:`predict` with optional flip test-time augmentation;
* ``python -m lecture21.train MODEL ...`` (:func:`main`) trains any registered model on CIFAR-10
  and prints one results line.
"""

from lecture21.train.augment import augment_batch, draw_params, pad, random_crop
from lecture21.train.cache import train_or_load
from lecture21.train.cli import main
from lecture21.train.engine import (
    RECIPES,
    HyperParams,
    TensorData,
    TrainResult,
    evaluate,
    fit,
    load_checkpoint,
    predict,
)

__all__ = [
    "RECIPES",
    "HyperParams",
    "TensorData",
    "TrainResult",
    "augment_batch",
    "draw_params",
    "evaluate",
    "fit",
    "load_checkpoint",
    "main",
    "pad",
    "predict",
    "random_crop",
    "train_or_load",
]
