"""The course's models. Importing this package registers every architecture family."""

import lecture21.models.resnet  # noqa: F401  (registers resnet18)
import lecture21.models.resnet9  # noqa: F401  (registers resnet9)
from lecture21.models import simple_cnn  # noqa: F401  (registers its models)
from lecture21.models.registry import available, create, entry, register

__all__ = ["available", "create", "entry", "register"]
