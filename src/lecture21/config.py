"""Run profiles, device, seeds and paths shared by every notebook and script.

A profile says how much work a notebook does. It is chosen by the environment variable
``LECTURE21_PROFILE``:

* ``smoke`` -- CI on two CPU cores: small subsets, one short pass, a notebook in well under a
  minute. Only checks that everything runs.
* ``quick`` -- a laptop CPU: a few minutes per notebook, accuracies that already mean something.
* ``full``  -- a GPU: the whole of CIFAR-10 and real epoch budgets (not yet run: the project
  has had no GPU so far, so its accuracy floors are not yet measured).
* ``auto``  -- the default: ``full`` where CUDA is available, else ``quick``.
"""

from __future__ import annotations

import os
import platform
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

T = TypeVar("T")

PROFILE_ENV = "LECTURE21_PROFILE"
DATA_ENV = "LECTURE21_DATA"
CACHE_ENV = "LECTURE21_CACHE"
DEVICE_ENV = "LECTURE21_DEVICE"
REQUIRE_CIFAR_ENV = "LECTURE21_REQUIRE_CIFAR"
REQUIRE_FSDD_ENV = "LECTURE21_REQUIRE_FSDD"


@dataclass(frozen=True)
class Profile:
    """How much data and compute a run uses.

    ``train_size`` / ``test_size`` of ``None`` mean the whole split.
    """

    name: str
    train_size: int | None
    test_size: int | None
    epochs: int
    batch_size: int
    description: str

    def choose(self, *, smoke: T, quick: T, full: T) -> T:
        """The value meant for this profile: ``profile.choose(smoke=1, quick=5, full=30)``."""
        return {"smoke": smoke, "quick": quick, "full": full}[self.name]


PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", 2_000, 1_000, 1, 128, "CI, 2 CPU cores: checks that everything runs"),
    "quick": Profile("quick", 10_000, 2_000, 4, 128, "laptop CPU: minutes per notebook"),
    "full": Profile("full", None, None, 20, 512, "GPU: whole CIFAR-10, real epoch budgets"),
}


def get_profile(name: str | None = None) -> Profile:
    """The profile named by ``name``, else by ``LECTURE21_PROFILE``, else ``auto``."""
    chosen = (name or os.environ.get(PROFILE_ENV) or "auto").strip().lower()
    if chosen == "auto":
        chosen = "full" if torch.cuda.is_available() else "quick"
    if chosen not in PROFILES:
        raise ValueError(
            f"profile must be one of {sorted(PROFILES) + ['auto']} "
            f"(argument or ${PROFILE_ENV}), got {chosen!r}"
        )
    return PROFILES[chosen]


def get_device(name: str | None = None) -> torch.device:
    """``name``, else ``LECTURE21_DEVICE``, else CUDA when available, else the CPU."""
    chosen = name or os.environ.get(DEVICE_ENV)
    if chosen:
        try:
            device = torch.device(chosen)
        except RuntimeError as error:
            raise ValueError(f"device must be like 'cpu' or 'cuda:0', got {chosen!r}") from error
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {chosen!r} was asked for, but CUDA is not available")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so that a run repeats exactly on the CPU."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _user_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lecture21"


def data_dir() -> Path:
    """Where data sets are looked for and downloaded to: ``$LECTURE21_DATA`` or the user cache."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else _user_cache() / "data"


def cache_dir() -> Path:
    """Where decoded arrays, checkpoints and finished runs are kept: ``$LECTURE21_CACHE``."""
    env = os.environ.get(CACHE_ENV)
    path = Path(env).expanduser() if env else _user_cache() / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def require_cifar() -> bool:
    """True when ``LECTURE21_REQUIRE_CIFAR=1``: the synthetic fallback becomes an error."""
    return os.environ.get(REQUIRE_CIFAR_ENV, "").strip() in {"1", "true", "yes"}


def require_fsdd() -> bool:
    """True when ``LECTURE21_REQUIRE_FSDD=1``: the synthetic spoken digits become an error."""
    return os.environ.get(REQUIRE_FSDD_ENV, "").strip() in {"1", "true", "yes"}


def describe_run(data_source: str | None = None) -> str:
    """The first lines a notebook prints: profile, device, data source and versions (Russian)."""
    import matplotlib
    import timm
    import torchvision

    from lecture21 import __version__

    profile = get_profile()
    device = get_device()
    gpu = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
    lines = [
        f"Профиль: {profile.name} — {profile.description}",
        f"Устройство: {device}{gpu}, потоков CPU: {torch.get_num_threads()}",
    ]
    if data_source:
        lines.append(f"Данные: {data_source}")
    lines.append(
        f"Версии: python {platform.python_version()}, lecture21 {__version__}, "
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, "
        f"timm {timm.__version__}, matplotlib {matplotlib.__version__}"
    )
    return "\n".join(lines)
