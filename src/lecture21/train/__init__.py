"""The course's training engine: one ``fit`` for every notebook, and its command line.

* ``recipes.py`` -- :class:`HyperParams` and each model's :class:`Recipe` (:data:`RECIPES`);
* ``loop.py`` -- :func:`fit`: a batch iterator, one step, one history row per epoch;
* ``checkpoints.py`` -- atomic checkpoints and resumption (:func:`load_checkpoint`);
* ``evaluation.py`` -- :func:`evaluate` / :func:`predict` with optional flip test-time
  augmentation;
* ``cache.py`` -- :func:`train_or_load` keeps finished runs;
* ``python -m lecture21.train MODEL ...`` (:func:`main`) trains any registered model on CIFAR-10
  and prints one results line.
"""

from lecture21.data import TensorData
from lecture21.train.augment import augment_batch, draw_params, pad, random_crop
from lecture21.train.cache import train_or_load
from lecture21.train.checkpoints import load_checkpoint
from lecture21.train.cli import main
from lecture21.train.evaluation import evaluate, predict
from lecture21.train.loop import TrainingDiverged, TrainResult, fit
from lecture21.train.recipes import EXPERIMENTS, RECIPES, HyperParams, Recipe

__all__ = [
    "EXPERIMENTS",
    "RECIPES",
    "HyperParams",
    "Recipe",
    "TensorData",
    "TrainResult",
    "TrainingDiverged",
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
