"""CIFAR-10 (Krizhevsky, 2009) as uint8 tensors, from the best source available.

Sources, in this order:

1. the data directory (``$LECTURE21_DATA``): the canonical ``cifar-10-batches-py`` folder, or the
   JPEG copy ``cifar10-jpg.tar.xz`` (``train/<class>/NNNN.jpg``, ``test/<class>/NNNN.jpg``),
   decoded once and cached as arrays;
2. torchvision's download of the canonical set into the data directory, where a network exists;
3. the built-in synthetic set, announced by ``ImageData.notice`` and in every title; with
   ``LECTURE21_REQUIRE_CIFAR=1`` this is an error instead.

A source that exists but is broken (corrupt or truncated archive, wrong number or size of
images) raises :class:`DataError`; it is never a reason to fall back.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import re
from pathlib import Path

import numpy as np
import torch

from lecture21 import config
from lecture21.data.archive import read_members
from lecture21.data.images import DataError, ImageData
from lecture21.data.synthetic import synthetic_data
from lecture21.helpers import atomic_write

CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
CANONICAL_DIR = "cifar-10-batches-py"
JPEG_ARCHIVE = "cifar10-jpg.tar.xz"
COUNTS = (50_000, 10_000)

_MEMBER = re.compile(r"^(?:\./)?(train|test)/([a-z]+)/(\d+)\.jpg$")


def load_cifar10(data_dir: str | Path | None = None, download: bool = True) -> ImageData:
    """CIFAR-10 from the data directory, a download, or (announced) the synthetic set."""
    root = Path(data_dir) if data_dir is not None else config.data_dir()
    canonical, archive = root / CANONICAL_DIR, root / JPEG_ARCHIVE
    if canonical.is_dir():
        return _from_arrays(*read_canonical(canonical), f"CIFAR-10 ({canonical})")
    if archive.is_file():
        arrays = _cached(archive, lambda: read_jpeg_archive(archive))
        return _from_arrays(*arrays, f"CIFAR-10, JPEG-копия ({archive})")
    download_error = "загрузка отключена"
    if download:
        try:
            import torchvision

            torchvision.datasets.CIFAR10(str(root), train=True, download=True)
            torchvision.datasets.CIFAR10(str(root), train=False, download=True)
            return _from_arrays(*read_canonical(canonical), f"CIFAR-10 ({canonical}, загружен)")
        except (OSError, RuntimeError) as error:  # no network, refused, checksum mismatch
            download_error = f"загрузка не удалась: {error}"
    notice = (
        "ВНИМАНИЕ: CIFAR-10 не найден и не загружен, поэтому используются синтетические данные "
        "(цветные фигуры на текстурах). "
        f"Искали: {canonical} и {archive}; {download_error}. "
        f"Чтобы работать с CIFAR-10, задайте {config.DATA_ENV}=<папка с {JPEG_ARCHIVE} "
        f"или {CANONICAL_DIR}> или дайте доступ в сеть."
    )
    if config.require_cifar():
        raise DataError(notice + f" (ошибка, потому что {config.REQUIRE_CIFAR_ENV}=1)")
    return synthetic_data(notice=notice)


def read_canonical(folder: Path, expected: tuple[int, int] | None = None) -> tuple[np.ndarray, ...]:
    """The pickled python batches: ``data_batch_1..5`` and ``test_batch``."""
    splits = []
    for names in ([f"data_batch_{i}" for i in range(1, 6)], ["test_batch"]):
        images, labels = [], []
        for name in names:
            path = folder / name
            try:
                with open(path, "rb") as file:
                    batch = pickle.load(file, encoding="latin1")
                data = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            except (OSError, pickle.UnpicklingError, EOFError, KeyError, ValueError) as error:
                raise DataError(f"CIFAR-10 batch {path} is missing or corrupt: {error}") from error
            images.append(data.transpose(0, 2, 3, 1))
            labels.append(np.asarray(batch["labels"], dtype=np.int64))
        splits += [np.concatenate(images), np.concatenate(labels)]
    _check_counts(splits[0], splits[2], expected, folder)
    return tuple(splits)


def read_jpeg_archive(
    path: Path, expected: tuple[int, int] | None = None
) -> tuple[np.ndarray, ...]:
    """Decode every ``(train|test)/<class>/NNNN.jpg`` of the archive, ordered by split, class, N."""
    from PIL import Image

    def decode(match: re.Match[str], data: bytes, name: str) -> tuple[str, int, int, np.ndarray]:
        split, cls, number = match.groups()
        if cls not in CLASSES:
            raise DataError(f"{path}: unknown class folder {cls!r} in {name}")
        with Image.open(io.BytesIO(data)) as image:
            pixels = np.asarray(image.convert("RGB"))
        if pixels.shape != (32, 32, 3):
            raise DataError(
                f"{path}: {name} is {pixels.shape[1]}x{pixels.shape[0]}, CIFAR-10 images are 32x32"
            )
        return split, CLASSES.index(cls), int(number), pixels

    found: dict[str, list[tuple[int, int, np.ndarray]]] = {"train": [], "test": []}
    for split, *item in read_members(path, _MEMBER, decode, "CIFAR-10 JPEG"):
        found[split].append(tuple(item))
    arrays = []
    for split in ("train", "test"):
        items = sorted(found[split], key=lambda item: item[:2])
        images = np.stack([p for _, _, p in items]) if items else np.zeros((0, 32, 32, 3), "u1")
        arrays += [images, np.array([c for c, _, _ in items], dtype=np.int64)]
    _check_counts(arrays[0], arrays[2], expected, path)
    return tuple(arrays)


def _check_counts(train: np.ndarray, test: np.ndarray, expected, where) -> None:
    expected = expected or COUNTS
    if (len(train), len(test)) != tuple(expected):
        raise DataError(
            f"{where}: found {len(train)} train and {len(test)} test images, "
            f"CIFAR-10 has {expected[0]} and {expected[1]}"
        )


def _cached(archive: Path, decode) -> tuple[np.ndarray, ...]:
    """Decode ``archive`` once; keep the arrays in the cache under the archive's sha256."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    cache = config.cache_dir() / f"cifar10-jpg-{digest}.npz"
    if cache.is_file():
        with np.load(cache) as stored:
            return tuple(stored[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    arrays = decode()

    def write(temporary: Path) -> None:
        with open(temporary, "wb") as file:
            np.savez(file, **dict(zip(("x_train", "y_train", "x_test", "y_test"), arrays)))

    atomic_write(cache, write)  # never a half-written cache
    return arrays


def _from_arrays(x_train, y_train, x_test, y_test, source: str) -> ImageData:
    return ImageData(
        torch.from_numpy(np.ascontiguousarray(x_train)),
        torch.from_numpy(y_train),
        torch.from_numpy(np.ascontiguousarray(x_test)),
        torch.from_numpy(y_test),
        CLASSES,
        source=source,
    )
