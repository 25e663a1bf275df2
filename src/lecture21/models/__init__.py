"""The course's models. Importing this package registers every architecture family."""

import lecture21.models.alexnet  # noqa: F401  (registers alexnet, zfnet)
import lecture21.models.audio_cnn  # noqa: F401  (registers AudioCNN)
import lecture21.models.googlenet  # noqa: F401  (registers googlenet)
import lecture21.models.lenet  # noqa: F401  (registers lenet5)
import lecture21.models.resnet  # noqa: F401  (registers resnet18)
import lecture21.models.resnet9  # noqa: F401  (registers resnet9)
import lecture21.models.text_cnn  # noqa: F401  (registers TextCNN)
import lecture21.models.vgg  # noqa: F401  (registers vgg11, vgg13, vgg16, vgg19)
from lecture21.models import simple_cnn  # noqa: F401  (registers its models)
from lecture21.models.registry import available, create, entry, register

__all__ = ["available", "create", "entry", "register"]
