"""Data sets of the course: CIFAR-10, the synthetic shapes set, and their container."""

from lecture21.data.cifar import CLASSES as CIFAR10_CLASSES
from lecture21.data.cifar import load_cifar10
from lecture21.data.fsdd import AudioData, load_fsdd
from lecture21.data.images import (
    MEAN,
    STD,
    SYNTHETIC_LABEL,
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
