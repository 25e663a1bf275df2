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

Nothing read here is executed (issue 11): the canonical batches must have torchvision's published
md5 checksums and are read by an unpickler that builds only what the format holds (a dict, lists,
strings and numpy's uint8 arrays); the JPEG copy must have the sha256 published in
``../shared/data/README.md``; the decoded-array cache is ``.npz`` read with
``allow_pickle=False`` and checked against the archive it was built from.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import pickle
import re
import warnings
import zipfile
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

#: torchvision's published md5 of each canonical batch (``torchvision.datasets.CIFAR10``).
CANONICAL_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}
#: The published sha256 of ``cifar10-jpg.tar.xz`` (``../shared/data/README.md``).
JPEG_SHA256 = "080868207345cd38a9fd5f3502ea96e305a6fdb7a7f2d0dfafbdcb7353df24ab"
#: What the cache holds, in this order; each split's images are uint8 (N, 32, 32, 3).
_CACHE_KEYS = ("x_train", "y_train", "x_test", "y_test")

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
    where = (
        f"Искали: {canonical} и {archive}; {download_error}. "
        f"Чтобы работать с CIFAR-10, задайте {config.DATA_ENV}=<папка с {JPEG_ARCHIVE} "
        f"или {CANONICAL_DIR}> или дайте доступ в сеть."
    )
    if config.require_cifar():
        raise DataError(f"CIFAR-10 не найден и не загружен, а {config.REQUIRE_CIFAR_ENV}=1 "
                        f"требует настоящих данных. {where}")
    notice = ("ВНИМАНИЕ: CIFAR-10 не найден и не загружен, поэтому используются синтетические "
              f"данные (цветные фигуры на текстурах). {where}")
    return synthetic_data(notice=notice)


def _latin1(text: str, encoding: str) -> bytes:
    """``_codecs.encode`` as protocol 2 uses it for bytes, and nothing else."""
    if encoding != "latin1":
        raise pickle.UnpicklingError(f"encoding {encoding!r} is not allowed in a CIFAR-10 batch")
    return codecs.encode(text, "latin1")


class BatchUnpickler(pickle.Unpickler):
    """An unpickler for CIFAR-10's python batches that builds only what they hold: dicts, lists,
    strings, ints and numpy arrays (``ndarray`` reconstruction and its ``dtype``). Any other
    global (``os.system``, ``builtins.eval``, ...) is refused before anything runs."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.zeros(0))[0],
        ("numpy._core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.zeros(0))[0],
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1,
    }

    def find_class(self, module: str, name: str):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"{module}.{name} is not part of a CIFAR-10 batch; refused"
            ) from None


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 32, 32, 3) and labels (N,) of one canonical batch, after its md5 is checked
    against torchvision's published one (where the name is a canonical one)."""
    try:
        payload = path.read_bytes()
    except OSError as error:
        raise DataError(f"CIFAR-10 batch {path} is missing or corrupt: {error}") from error
    known = CANONICAL_MD5.get(path.name)
    digest = hashlib.md5(payload, usedforsecurity=False).hexdigest()
    if known is not None and digest != known:
        raise DataError(
            f"CIFAR-10 batch {path} is missing or corrupt: its md5 is {digest}, the published "
            f"one is {known}; delete the folder {path.parent} and download it again"
        )
    try:
        batch = BatchUnpickler(io.BytesIO(payload), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError) as error:
        raise DataError(f"CIFAR-10 batch {path} is missing or corrupt: {error}") from error
    data = batch.get("data") if isinstance(batch, dict) else None
    labels = batch.get("labels") if isinstance(batch, dict) else None
    if (not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2
            or data.shape[1] != 3072 or not isinstance(labels, list)
            or len(labels) != len(data) or not all(type(v) is int for v in labels)):
        raise DataError(
            f"CIFAR-10 batch {path} is missing or corrupt: expected a dict with 'data' "
            "(uint8 array N x 3072) and 'labels' (N ints)"
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, np.asarray(labels, dtype=np.int64)


def read_canonical(folder: Path, expected: tuple[int, int] | None = None) -> tuple[np.ndarray, ...]:
    """The pickled python batches: ``data_batch_1..5`` and ``test_batch`` (see
    :func:`read_batch`: checksummed, and read without executing anything)."""
    splits = []
    for names in ([f"data_batch_{i}" for i in range(1, 6)], ["test_batch"]):
        images, labels = zip(*(read_batch(folder / name) for name in names))
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
        try:
            with Image.open(io.BytesIO(data)) as image:
                pixels = np.asarray(image.convert("RGB"))
        except (OSError, SyntaxError, ValueError) as error:  # PIL's errors for a broken JPEG
            raise DataError(f"{path}: {name} cannot be decoded as a JPEG (corrupt or truncated "
                            f"image): {error}") from error
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
    """Decode ``archive`` once; keep the arrays in the cache under the archive's sha256.

    The archive must have the published sha256 (:data:`JPEG_SHA256`, where known). A cache that
    cannot be read or does not hold CIFAR-10 decoded from this very archive (keys, dtypes,
    shapes, counts, the archive's sha256) is rebuilt from the archive, with a warning."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if JPEG_SHA256 is not None and digest != JPEG_SHA256:
        raise DataError(
            f"{archive}: sha256 {digest} differs from the published {JPEG_SHA256} "
            "(../shared/data/README.md): the archive is corrupt or not the published copy; "
            "replace it"
        )
    cache = config.cache_dir() / f"cifar10-jpg-{digest[:16]}.npz"
    if cache.exists():
        problem = _cache_problem(cache, digest)
        if problem is None:
            with np.load(cache, allow_pickle=False) as stored:
                return tuple(stored[k] for k in _CACHE_KEYS)
        warnings.warn(f"the decoded CIFAR-10 cache {cache} is invalid ({problem}); "
                      f"rebuilding it from {archive}", stacklevel=3)
    arrays = decode()

    def write(temporary: Path) -> None:
        with open(temporary, "wb") as file:
            np.savez(file, **dict(zip(_CACHE_KEYS, arrays)), archive_sha256=np.array(digest))

    atomic_write(cache, write)  # never a half-written cache
    return arrays


def _cache_problem(cache: Path, digest: str) -> str | None:
    """Why ``cache`` is not CIFAR-10 decoded from the archive with sha256 ``digest`` (None: it
    is). Read with ``allow_pickle=False``: a cache never runs code."""
    try:
        with np.load(cache, allow_pickle=False) as stored:
            if set(stored.files) != {*_CACHE_KEYS, "archive_sha256"}:
                return f"keys {sorted(stored.files)}"
            if str(stored["archive_sha256"]) != digest:
                return "built from another archive"
            arrays = [stored[k] for k in _CACHE_KEYS]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        return f"unreadable: {type(error).__name__}: {error}"
    for split, images, labels, count in zip(("train", "test"), arrays[::2], arrays[1::2], COUNTS):
        if images.dtype != np.uint8 or images.shape != (count, 32, 32, 3):
            return (f"{split} images are {images.dtype} {images.shape}, "
                    f"not uint8 ({count}, 32, 32, 3)")
        if labels.dtype != np.int64 or labels.shape != (count,) or (
                count and (labels.min() < 0 or labels.max() >= len(CLASSES))):
            return f"{split} labels are not {count} int64 values in [0, {len(CLASSES)})"
    return None


def _from_arrays(x_train, y_train, x_test, y_test, source: str) -> ImageData:
    return ImageData(
        torch.from_numpy(np.ascontiguousarray(x_train)),
        torch.from_numpy(y_train),
        torch.from_numpy(np.ascontiguousarray(x_test)),
        torch.from_numpy(y_test),
        CLASSES,
        source=source,
    )
