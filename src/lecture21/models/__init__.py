"""The course's models. Importing this package registers every architecture family."""

from lecture21.models import simple_cnn  # noqa: F401  (registers its models)
from lecture21.models.registry import available, create, entry, register

__all__ = ["available", "create", "entry", "register"]
