"""CIFAR-10 loading from every source, with small archives and batches made here."""

import hashlib
import io
import os
import pickle
import tarfile
import time

import numpy as np
import pytest
import torch
from PIL import Image

from lecture21 import config, data
from lecture21.data import cifar

COLOURS = np.array([[i * 25, 255 - i * 25, (i * 70) % 256] for i in range(10)], dtype=np.uint8)


def _jpeg(colour, size=32) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size, 3), colour, np.uint8)).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def make_archive(path, per_class=(2, 1), size=32, extra=()) -> None:
    """A tiny copy of cifar10-jpg.tar.xz: solid-colour images, one colour per class."""
    with tarfile.open(path, "w:xz") as tar:
        files = [
            (f"{split}/{name}/{n:04d}.jpg", _jpeg(COLOURS[k], size))
            for split, count in zip(("train", "test"), per_class)
            for k, name in enumerate(cifar.CLASSES)
            for n in range(count)
        ]
        for name, payload in [*files, *extra]:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(config.CACHE_ENV, str(folder))
    monkeypatch.delenv(config.REQUIRE_CIFAR_ENV, raising=False)
    monkeypatch.setattr(cifar, "JPEG_SHA256", None)  # the archives made here are not published
    return folder


def test_jpeg_archive_is_decoded_in_order(tmp_path, cache):
    make_archive(tmp_path / "a.tar.xz")
    x_train, y_train, x_test, y_test = cifar.read_jpeg_archive(tmp_path / "a.tar.xz", (20, 10))
    assert x_train.shape == (20, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.tolist() == [k for k in range(10) for _ in range(2)]
    assert y_test.tolist() == list(range(10))
    # JPEG is lossy, but a solid colour survives within a few levels.
    assert np.abs(x_test.astype(int).mean((1, 2)) - COLOURS).max() <= 4


def test_load_from_archive_caches_arrays_atomically(tmp_path, cache, monkeypatch):
    make_archive(tmp_path / cifar.JPEG_ARCHIVE)
    monkeypatch.setattr(cifar, "COUNTS", (20, 10))
    loaded = data.load_cifar10(tmp_path, download=False)
    assert not loaded.synthetic and loaded.notice is None
    assert "JPEG" in loaded.source and loaded.classes == cifar.CLASSES
    assert [p.suffix for p in cache.iterdir()] == [".npz"]  # no temporary file left
    monkeypatch.setattr(cifar, "read_jpeg_archive", lambda *a: pytest.fail("decoded twice"))
    again = data.load_cifar10(tmp_path, download=False)
    assert torch.equal(again.train_x, loaded.train_x)


def test_wrong_number_of_images_is_an_error(tmp_path, cache):
    make_archive(tmp_path / cifar.JPEG_ARCHIVE)
    message = "found 20 train and 10 test images, CIFAR-10 has 50000"
    with pytest.raises(data.DataError, match=message):
        data.load_cifar10(tmp_path, download=False)
    assert not cache.exists() or not any(cache.iterdir())


def test_wrong_image_size_is_an_error(tmp_path, cache):
    make_archive(tmp_path / "a.tar.xz", extra=[("train/cat/9999.jpg", _jpeg(COLOURS[0], 16))])
    with pytest.raises(data.DataError, match="9999.jpg is 16x16, CIFAR-10 images are 32x32"):
        cifar.read_jpeg_archive(tmp_path / "a.tar.xz", (21, 10))


def test_unknown_class_folder_is_an_error(tmp_path, cache):
    make_archive(tmp_path / "a.tar.xz", extra=[("train/zebra/0000.jpg", _jpeg(COLOURS[0]))])
    with pytest.raises(data.DataError, match="unknown class folder 'zebra'"):
        cifar.read_jpeg_archive(tmp_path / "a.tar.xz", (21, 10))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "bad-jpeg"])
def test_corrupt_archive_is_an_error_not_a_fallback(tmp_path, cache, monkeypatch, damage):
    path = tmp_path / cifar.JPEG_ARCHIVE
    if damage == "bad-jpeg":
        make_archive(path, extra=[("test/dog/0099.jpg", b"not a jpeg at all")])
    else:
        make_archive(path)
        payload = path.read_bytes()
        path.write_bytes(payload[: len(payload) // 2] if damage == "truncate" else os.urandom(4096))
    monkeypatch.setattr(cifar, "COUNTS", (20, 10))
    with pytest.raises(data.DataError, match="corrupt or truncated"):
        data.load_cifar10(tmp_path, download=False)
    assert not cache.exists() or not any(cache.iterdir()), "a half-written cache was left"


def _write_batches(folder, n_train_batch=3, n_test=5, monkeypatch=None):
    """Small batches as the canonical ones are (python 2 cPickle, protocol 2: a dict of a str
    label, a list of ints, a uint8 array N x 3072 and a list of file names); with
    ``monkeypatch``, their md5s replace the published ones."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    sizes = [*((f"data_batch_{i}", n_train_batch) for i in range(1, 6)), ("test_batch", n_test)]
    for name, n in sizes:
        batch = {"batch_label": f"{name} of 5", "labels": rng.integers(0, 10, n).tolist(),
                 "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 "filenames": [f"image_{i}.png" for i in range(n)]}
        with open(folder / name, "wb") as file:
            pickle.dump(batch, file, protocol=2)
    if monkeypatch is not None:
        monkeypatch.setattr(cifar, "CANONICAL_MD5", {
            name: hashlib.md5((folder / name).read_bytes()).hexdigest() for name, _ in sizes})


def test_canonical_batches_are_read_channels_last(tmp_path, cache, monkeypatch):
    folder = tmp_path / cifar.CANONICAL_DIR
    _write_batches(folder, monkeypatch=monkeypatch)
    x_train, y_train, x_test, _ = cifar.read_canonical(folder, (15, 5))
    with open(folder / "data_batch_1", "rb") as file:
        first = pickle.load(file)["data"][0]
    assert x_train.shape == (15, 32, 32, 3)
    assert np.array_equal(x_train[0, :, :, 0].ravel(), first[:1024])  # red plane first
    monkeypatch.setattr(cifar, "COUNTS", (15, 5))
    assert data.load_cifar10(tmp_path, download=False).test_x.shape == (5, 32, 32, 3)
    (folder / "test_batch").write_bytes(b"\x80garbage")
    with pytest.raises(data.DataError, match="test_batch is missing or corrupt: its md5 is"):
        data.load_cifar10(tmp_path, download=False)
    monkeypatch.setitem(cifar.CANONICAL_MD5, "test_batch", hashlib.md5(b"\x80garbage").hexdigest())
    with pytest.raises(data.DataError, match="test_batch is missing or corrupt"):
        data.load_cifar10(tmp_path, download=False)


class _Plant:
    """A pickle that, if unpickled by ``pickle.load``, creates the file ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("known_md5", [True, False])
def test_planted_pickle_in_the_data_folder_never_runs(tmp_path, cache, monkeypatch, known_md5):
    """Issue 11, item 1: a batch that runs code on load is refused by its md5, and, even with a
    matching md5, by the unpickler, before anything runs."""
    folder = tmp_path / cifar.CANONICAL_DIR
    _write_batches(folder, monkeypatch=monkeypatch)
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"data": _Plant(marker), "labels": [0]}, protocol=2)
    (folder / "data_batch_3").write_bytes(payload)
    if known_md5:  # the attacker also controls the checksum table (or the name is unknown)
        monkeypatch.setitem(cifar.CANONICAL_MD5, "data_batch_3", hashlib.md5(payload).hexdigest())
    with pytest.raises(data.DataError, match="data_batch_3 is missing or corrupt"):
        data.load_cifar10(tmp_path, download=False)
    assert not marker.exists(), "the planted pickle ran"
    with pytest.raises(pickle.UnpicklingError, match="posix.system is not part of a CIFAR-10"):
        cifar.BatchUnpickler(io.BytesIO(payload)).load()
    assert not marker.exists()


@pytest.mark.parametrize("batch", [["not", "a", "dict"], {"data": "x", "labels": [0]},
                                   {"data": np.zeros((1, 3072), np.float32), "labels": [0]},
                                   {"data": np.zeros((2, 3072), np.uint8), "labels": [0]},
                                   {"labels": [0]}])
def test_batch_of_the_wrong_structure_is_a_data_error(tmp_path, cache, monkeypatch, batch):
    folder = tmp_path / cifar.CANONICAL_DIR
    _write_batches(folder, monkeypatch=monkeypatch)
    (folder / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    monkeypatch.setitem(cifar.CANONICAL_MD5, "test_batch", None)  # no published checksum
    with pytest.raises(data.DataError, match="test_batch is missing or corrupt"):
        cifar.read_canonical(folder, (15, 5))


def test_published_checksums_are_torchvisions():
    """The md5 table is the one torchvision's downloader verifies."""
    from torchvision.datasets import CIFAR10

    assert cifar.CANONICAL_MD5 == dict(CIFAR10.train_list + CIFAR10.test_list)


def test_jpeg_archive_with_another_sha256_is_refused(tmp_path, cache, monkeypatch):
    """Issue 11, item 7: a JPEG whose body was corrupted decodes silently, so the archive's
    published sha256 is checked first."""
    make_archive(tmp_path / cifar.JPEG_ARCHIVE)
    monkeypatch.setattr(cifar, "JPEG_SHA256", hashlib.sha256(b"published").hexdigest())
    with pytest.raises(data.DataError, match="differs from the published"):
        data.load_cifar10(tmp_path, download=False)
    assert not cache.exists() or not any(cache.iterdir())


def test_undecodable_jpeg_is_named(tmp_path, cache):
    make_archive(tmp_path / "a.tar.xz", extra=[("test/dog/0099.jpg", b"not a jpeg at all")])
    with pytest.raises(data.DataError, match="test/dog/0099.jpg cannot be decoded"):
        cifar.read_jpeg_archive(tmp_path / "a.tar.xz", (20, 11))


def _damage(cache_file, how):
    if how == "truncated":
        cache_file.write_bytes(cache_file.read_bytes()[:1000])
    elif how == "empty":
        cache_file.write_bytes(b"")
    elif how == "garbage":
        cache_file.write_bytes(os.urandom(5000))
    elif how == "short":  # self-consistent but 10 images: not CIFAR-10
        rng = np.random.default_rng(0)
        with np.load(cache_file) as stored:
            digest = stored["archive_sha256"]
        np.savez(cache_file.with_suffix(""), x_train=rng.integers(0, 256, (10, 32, 32, 3), "u1"),
                 y_train=np.zeros(10, np.int64), x_test=rng.integers(0, 256, (10, 32, 32, 3), "u1"),
                 y_test=np.zeros(10, np.int64), archive_sha256=digest)
    elif how == "pickled":  # an object array: only readable with allow_pickle=True
        np.savez(cache_file.with_suffix(""), x_train=np.array([object()], dtype=object))


@pytest.mark.parametrize("how", ["truncated", "empty", "garbage", "short", "pickled"])
def test_damaged_cache_is_rebuilt_and_the_load_succeeds(tmp_path, cache, monkeypatch, how):
    """Issue 11, item 2: a cache that cannot be CIFAR-10 from this archive is rebuilt, saying so."""
    make_archive(tmp_path / cifar.JPEG_ARCHIVE)
    monkeypatch.setattr(cifar, "COUNTS", (20, 10))
    first = data.load_cifar10(tmp_path, download=False)
    (cache_file,) = cache.iterdir()
    _damage(cache_file, how)
    with pytest.warns(UserWarning, match=f"cache {cache_file} is invalid.*rebuilding it from"):
        again = data.load_cifar10(tmp_path, download=False)
    assert torch.equal(again.train_x, first.train_x) and torch.equal(again.test_y, first.test_y)
    assert [p.name for p in cache.iterdir()] == [cache_file.name]
    assert cifar._cache_problem(cache_file, hashlib.sha256(
        (tmp_path / cifar.JPEG_ARCHIVE).read_bytes()).hexdigest()) is None


def test_stale_temporaries_are_cleaned_on_the_next_write(tmp_path):
    """Issue 11, item 2: an interrupted atomic write's temporary goes on the next write; a fresh
    one (a concurrent writer's) and files not of our naming stay."""
    from lecture21.helpers import STALE_SECONDS, atomic_write

    target = tmp_path / "cache.npz"
    stale, fresh = tmp_path / "cache.npzab_cd123.tmp", tmp_path / "cache.npzzz99yy00.tmp"
    foreign = tmp_path / "cache.npz-mine.tmp"
    for path in (stale, fresh, foreign):
        path.write_bytes(b"half")
    old = time.time() - STALE_SECONDS - 10
    os.utime(stale, (old, old))
    os.utime(foreign, (old, old))
    atomic_write(target, lambda temporary: temporary.write_bytes(b"whole"))
    assert target.read_bytes() == b"whole"
    assert not stale.exists() and fresh.exists() and foreign.exists()


def test_missing_data_falls_back_to_announced_synthetic_set(tmp_path, cache):
    loaded = data.load_cifar10(tmp_path / "empty", download=False)
    assert loaded.synthetic and loaded.classes == data.SHAPES
    assert "CIFAR-10 не найден" in loaded.notice and str(tmp_path / "empty") in loaded.notice
    assert config.DATA_ENV in loaded.notice
    assert loaded.title("Точность") == "Точность (синтетические данные)"


def test_require_cifar_turns_the_fallback_into_an_error(tmp_path, cache, monkeypatch):
    monkeypatch.setenv(config.REQUIRE_CIFAR_ENV, "1")
    with pytest.raises(data.DataError, match="CIFAR-10 не найден.*LECTURE21_REQUIRE_CIFAR=1"):
        data.load_cifar10(tmp_path, download=False)


def test_synthetic_set_is_deterministic_and_has_masks():
    a, b = data.make_shapes(50, seed=3), data.make_shapes(50, seed=3)
    for x, y in zip(a, b):
        assert np.array_equal(x, y)
    images, labels, masks = a
    assert images.shape == (50, 32, 32, 3) and masks.shape == (50, 32, 32)
    assert masks.reshape(50, -1).sum(1).min() >= 20  # every object is visible
    assert set(labels.tolist()) == set(range(10))
    assert not np.array_equal(images, data.make_shapes(50, seed=4)[0])
    with pytest.raises(ValueError, match="n must be a positive int"):
        data.make_shapes(0)


def test_synthetic_split_and_subset():
    synthetic = data.synthetic_data(train_size=100, test_size=40)
    part = synthetic.subset(30, 10, seed=1)
    assert part.train_x.shape[0] == 30 and part.test_masks.shape == (10, 32, 32)
    assert torch.equal(part.train_x, synthetic.subset(30, 10, seed=1).train_x)
    assert synthetic.subset(None, None).train_x.shape[0] == 100
    with pytest.raises(ValueError, match="train_size must be a positive int or None"):
        synthetic.subset(0, 10)


def test_image_data_refuses_bad_tensors():
    good = torch.zeros(4, 32, 32, 3, dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 3])
    with pytest.raises(ValueError, match="must be a uint8 tensor"):
        data.check_images(good.float(), labels, 10)
    with pytest.raises(ValueError, match="shape \\(N, H, W, 3\\)"):
        data.check_images(good[..., :1], labels, 10)
    with pytest.raises(ValueError, match="is empty"):
        data.check_images(good[:0], labels[:0], 10)
    with pytest.raises(ValueError, match="must lie in \\[0, 3\\)"):
        data.check_images(good, labels, 3)
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        data.check_images(good, labels[:3], 10)


def test_normalize_roundtrip():
    images = torch.randint(0, 256, (2, 32, 32, 3), dtype=torch.uint8)
    x = data.normalize(images)
    assert x.shape == (2, 3, 32, 32) and x.dtype == torch.float32
    assert torch.allclose(data.denormalize(x) * 255, images.float(), atol=1e-3)
    with pytest.raises(ValueError, match="uint8 tensor"):
        data.normalize(images.float())
