"""Data sets of the course (CIFAR-10, FSDD audio, the text task, synthetic sets), all in one
data protocol: :class:`Dataset` (``train_x``, ``train_y``, ``test_x``, ``test_y``, ``classes``,
``subset``, ``title``, ``notice``)."""

from lecture21.data.base import Dataset, TensorData
from lecture21.data.cifar import CLASSES as CIFAR10_CLASSES
from lecture21.data.cifar import load_cifar10
from lecture21.data.fsdd import AudioData, load_fsdd
from lecture21.data.images import (
    MEAN,
    STD,
    DataError,
    ImageData,
    check_images,
    denormalize,
    normalize,
)
from lecture21.data.synthetic import SHAPES, make_shapes, synthetic_data

__all__ = [
    "CIFAR10_CLASSES",
    "SHAPES",
    "SYNTHETIC_LABEL",
    "DataError",
    "Dataset",
    "TensorData",
    "MEAN",
    "STD",
    "denormalize",
    "normalize",
    "ImageData",
    "check_images",
    "load_cifar10",
    "AudioData",
    "load_fsdd",
    "make_shapes",
    "synthetic_data",
]
