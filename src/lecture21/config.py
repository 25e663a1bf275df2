"""Run profiles, device, seeds and paths shared by every notebook and script.

A profile says how much work a notebook does. It is chosen by the environment variable
``LECTURE21_PROFILE``:

* ``smoke`` -- CI on two CPU cores: small subsets, one short pass, a notebook in well under a
  minute. Only checks that everything runs.
* ``quick`` -- a laptop CPU: a few minutes per notebook, accuracies that already mean something.
* ``full``  -- a GPU: the whole of CIFAR-10 and real epoch budgets (not yet run: the project
  has had no GPU so far, so its accuracy floors are not yet measured).
* ``auto``  -- the default: ``full`` on a CUDA GPU (with a smaller batch on a GPU of less than
  16 GB: :func:`batch_size_for_memory`), else ``quick`` -- on the CPU and on Apple's GPU
  (``mps``) too, where ``LECTURE21_PROFILE=full`` asks for the whole budget.

The device (:func:`get_device`) is CUDA, else Apple's ``mps``, else the CPU; the precision it
trains in is chosen by ``lecture21.train.precision``.
"""

from __future__ import annotations

import os
import platform
import random
from dataclasses import dataclass, replace
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
WEIGHTS_ENV = "LECTURE21_WEIGHTS"


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
    description: str  # Russian: the first output of every notebook shows it

    def choose(self, *, smoke: T, quick: T, full: T) -> T:
        """The value meant for this profile: ``profile.choose(smoke=1, quick=5, full=30)``."""
        return {"smoke": smoke, "quick": quick, "full": full}[self.name]


PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", 2_000, 1_000, 1, 128, "CI, 2 ядра CPU: всё ли выполняется"),
    "quick": Profile("quick", 10_000, 2_000, 4, 128, "CPU ноутбука: минуты на тетрадь"),
    "full": Profile("full", None, None, 20, 512, "GPU: весь CIFAR-10, настоящие бюджеты эпох"),
}


#: GPU memory one 32x32 training image may take in the notebooks' ``full`` runs: GoogLeNet (width
#: 1), the largest, keeps 13.2 MB of float32 activations per image (``measure.activation_memory``),
#: doubled for what autograd keeps beside them (saved inputs of norms and ReLUs, gradients).
GPU_BYTES_PER_IMAGE = 27 * 2**20
#: Below this much GPU memory ``auto`` caps the batch size (Colab's T4 has 15 GB).
SMALL_GPU_BYTES = 16 * 10**9


def batch_size_for_memory(batch_size: int, memory_bytes: int, fraction: float = 0.5) -> int:
    """``batch_size``, or the largest power of two (at least 16) whose images fit in
    ``fraction`` of ``memory_bytes`` at :data:`GPU_BYTES_PER_IMAGE` each, if that is smaller.

    A T4 (15 GB): 256; an 8 GB GPU: 128; the rest of the memory holds the data set (150 MB of
    uint8 CIFAR-10), weights, optimizer state and cuDNN workspaces.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if memory_bytes <= 0 or not 0 < fraction <= 1:
        raise ValueError(f"memory_bytes must be > 0 and fraction in (0, 1], got "
                         f"{memory_bytes!r}, {fraction!r}")
    fitting = int(fraction * memory_bytes) // GPU_BYTES_PER_IMAGE
    cap = 16
    while cap * 2 <= fitting:
        cap *= 2
    return min(batch_size, cap)


def get_profile(name: str | None = None) -> Profile:
    """The profile named by ``name``, else by ``LECTURE21_PROFILE``, else ``auto``.

    ``auto`` is ``full`` on a CUDA device (batch size capped by :func:`batch_size_for_memory`
    below 16 GB of GPU memory) and ``quick`` on ``mps`` and the CPU.
    """
    chosen = (name or os.environ.get(PROFILE_ENV) or "auto").strip().lower()
    if chosen == "auto":
        device = get_device()
        if device.type != "cuda":
            return PROFILES["quick"]
        full = PROFILES["full"]
        memory = torch.cuda.get_device_properties(device).total_memory
        batch = batch_size_for_memory(full.batch_size, memory)
        if memory >= SMALL_GPU_BYTES or batch == full.batch_size:
            return full
        return replace(full, batch_size=batch,
                       description=f"{full.description}; пакет {batch}: "
                                   f"{memory / 1e9:.0f} ГБ памяти GPU")
    if chosen not in PROFILES:
        raise ValueError(
            f"profile must be one of {sorted(PROFILES) + ['auto']} "
            f"(argument or ${PROFILE_ENV}), got {chosen!r}"
        )
    return PROFILES[chosen]


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def get_device(name: str | None = None) -> torch.device:
    """``name``, else ``LECTURE21_DEVICE``, else CUDA, else Apple's GPU (``mps``), else the CPU."""
    chosen = name or os.environ.get(DEVICE_ENV)
    if chosen:
        try:
            device = torch.device(chosen)
        except RuntimeError as error:
            raise ValueError(
                f"device must be like 'cpu', 'cuda:0' or 'mps', got {chosen!r}"
            ) from error
        if device.type not in ("cpu", "cuda", "mps"):
            raise ValueError(f"device must be cpu, cuda or mps (the course trains and runs "
                             f"models on them), got {chosen!r}")
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {chosen!r} was asked for, but CUDA is not available")
        if device.type == "mps" and not _mps_available():
            raise ValueError(f"device {chosen!r} was asked for, but MPS is not available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("mps" if _mps_available() else "cpu")


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
    """Where data sets are looked for and downloaded to: ``$LECTURE21_DATA`` or the user cache.

    ``$LECTURE21_DATA`` must be an existing folder: a mistyped one is an error, never created
    (and then silently filled with a download or replaced by the synthetic set)."""
    env = os.environ.get(DATA_ENV)
    if not env:
        return _user_cache() / "data"
    path = Path(env).expanduser()
    if not path.is_dir():
        raise ValueError(f"{DATA_ENV} must be an existing folder, got {env!r} "
                         f"({'a file' if path.exists() else 'it does not exist'})")
    return path


def cache_dir() -> Path:
    """Where decoded arrays, checkpoints and finished runs are kept: ``$LECTURE21_CACHE``."""
    env = os.environ.get(CACHE_ENV)
    path = Path(env).expanduser() if env else _user_cache() / "cache"
    if path.exists() and not path.is_dir():
        raise ValueError(f"{CACHE_ENV} must be a folder (it is created if missing), "
                         f"got the file {str(path)!r}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"the cache folder {str(path)!r} ({CACHE_ENV}) cannot be created: "
                         f"{error}") from error
    return path


def weights_dir() -> Path:
    """Where pretrained weights are kept (``make weights``): ``$LECTURE21_WEIGHTS``, else the
    folder ``weights`` of :func:`cache_dir`. Not created here: a loader only reads it."""
    env = os.environ.get(WEIGHTS_ENV)
    return Path(env).expanduser() if env else cache_dir() / "weights"


def require_cifar() -> bool:
    """True when ``LECTURE21_REQUIRE_CIFAR=1``: the synthetic fallback becomes an error."""
    return os.environ.get(REQUIRE_CIFAR_ENV, "").strip() in {"1", "true", "yes"}


def require_fsdd() -> bool:
    """True when ``LECTURE21_REQUIRE_FSDD=1``: the synthetic spoken digits become an error."""
    return os.environ.get(REQUIRE_FSDD_ENV, "").strip() in {"1", "true", "yes"}


def describe_run(data_source: str | None = None) -> str:
    """The first lines a notebook prints: profile, device and its precision, data source and
    versions (Russian)."""
    import matplotlib
    import timm
    import torchvision

    from lecture21 import __version__
    from lecture21.train.precision import choose_precision

    profile = get_profile()
    device = get_device()
    gpu = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
    precision = choose_precision(device)
    scaler = " + GradScaler" if precision.needs_scaler else ""
    lines = [
        f"Профиль: {profile.name} — {profile.description}",
        f"Устройство: {device}{gpu}, точность: {precision.name}{scaler}, "
        f"потоков CPU: {torch.get_num_threads()}",
    ]
    if data_source:
        lines.append(f"Данные: {data_source}")
    lines.append(
        f"Версии: python {platform.python_version()}, lecture21 {__version__}, "
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, "
        f"timm {timm.__version__}, matplotlib {matplotlib.__version__}"
    )
    return "\n".join(lines)
