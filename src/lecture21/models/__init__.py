"""The course's models. Importing this package registers every architecture family."""

from lecture21.models import (  # noqa: F401  (importing a family's file registers its models)
    alexnet,
    audio_cnn,
    densenet,
    googlenet,
    highway,
    lenet,
    mobilenet,
    resnet,
    resnet9,
    resnet_cifar,
    resnext,
    shufflenet,
    simple_cnn,
    squeezenet,
    squeezenext,
    text_cnn,
    vgg,
    xception,
)
from lecture21.models.registry import available, create, entry, register

__all__ = ["available", "create", "entry", "register"]
