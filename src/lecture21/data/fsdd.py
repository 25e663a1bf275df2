"""The Free Spoken Digit Dataset (Jackson et al., 2018) as fixed-length waveforms.

3,000 mono 16-bit WAV recordings at 8 kHz of the digits 0-9 spoken in English by 6 speakers,
50 of each digit per speaker, named ``recordings/{digit}_{speaker}_{index}.wav``. The official
split puts index 0-4 in the test set and index 5-49 in the training set (2,700 / 300).

Sources, in this order:

1. ``fsdd-recordings.tar.xz`` in the data directory (``$LECTURE21_DATA``, see
   ``../shared/data/README.md``);
2. an archive of the public repository (``Jakobovski/free-spoken-digit-dataset``, tag
   ``v1.0.10``) downloaded into the data directory, where a network exists.

3. otherwise the built-in synthetic spoken digits (:mod:`lecture21.data.synthetic_audio`, the
   same split shape), announced by ``AudioData.notice`` (in Russian: where it looked, why the
   download failed, what to set) and in every title through ``AudioData.title``; with
   ``LECTURE21_REQUIRE_FSDD=1`` this is a :class:`DataError` instead.

A source that exists but is broken (not an archive, truncated, a WAV that is not 8 kHz mono
16-bit) raises :class:`DataError`; it is never a reason to fall back. WAV files are read with
the standard ``wave`` module.

Used in the audio part of the lecture (slide "CNN для аудио").
"""

from __future__ import annotations

import functools
import io
import re
import urllib.request
import wave
from dataclasses import KW_ONLY, dataclass
from pathlib import Path

import numpy as np
import torch

from lecture21 import config
from lecture21.data.archive import read_members
from lecture21.data.base import Dataset
from lecture21.data.images import DataError
from lecture21.helpers import atomic_write

ARCHIVE = "fsdd-recordings.tar.xz"
DOWNLOAD_URL = (
    "https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v1.0.10.tar.gz"
)
DOWNLOADED_ARCHIVE = "fsdd-v1.0.10.tar.gz"
SAMPLE_RATE = 8_000
#: Every recording is padded or cropped to this many samples (1 s); 99 % of them are shorter.
LENGTH = 8_000
COUNT = 3_000
TEST_INDICES = range(0, 5)
CLASSES = tuple(str(d) for d in range(10))

_MEMBER = re.compile(r"^(?:.*/)?recordings/(\d)_([a-z]+)_(\d+)\.wav$")


@dataclass(frozen=True)
class Recording:
    """One spoken digit: its label, speaker, index within the speaker's takes, and samples."""

    digit: int
    speaker: str
    index: int
    samples: np.ndarray  # float32 in [-1, 1), the recording's own length

    @property
    def is_test(self) -> bool:
        return self.index in TEST_INDICES


@dataclass(frozen=True)
class AudioData(Dataset):
    """FSDD's official split as float32 waveforms ``(N, LENGTH)`` (``train_x`` / ``test_x``)
    and int64 labels ``(N,)``.

    ``train_lengths`` / ``test_lengths`` keep each recording's own length before padding;
    ``train_speakers`` / ``test_speakers`` say who spoke it. ``synthetic`` is true for the
    built-in fallback set; then ``notice`` explains why FSDD was not used.
    """

    _: KW_ONLY
    train_lengths: torch.Tensor
    test_lengths: torch.Tensor
    train_speakers: tuple[str, ...]
    test_speakers: tuple[str, ...]
    sample_rate: int


def read_wav(data: bytes | str | Path, name: str = "WAV", sample_rate: int = SAMPLE_RATE
             ) -> np.ndarray:
    """Samples of a mono 16-bit PCM WAV as float32 in [-1, 1); anything else is a DataError."""
    try:
        source = io.BytesIO(data) if isinstance(data, bytes) else str(data)
        with wave.open(source, "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as error:
        raise DataError(f"{name} is not a readable WAV file: {error}") from error
    if rate != sample_rate:
        raise DataError(f"{name} has sample rate {rate} Hz, expected {sample_rate} Hz")
    if channels != 1:
        raise DataError(f"{name} has {channels} channels, expected mono (1)")
    if width != 2:
        raise DataError(f"{name} has {8 * width}-bit samples, expected 16-bit PCM")
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0


def read_archive(path: str | Path, expected: int | None = COUNT,
                 sample_rate: int = SAMPLE_RATE) -> list[Recording]:
    """Every ``recordings/{digit}_{speaker}_{index}.wav`` of a tar archive, sorted by name parts.

    ``expected`` is the number of recordings the archive must hold (``None``: any, at least one).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"FSDD archive {path} does not exist")
    def decode(match: re.Match[str], data: bytes, name: str) -> Recording:
        digit, speaker, index = match.groups()
        return Recording(int(digit), speaker, int(index),
                         read_wav(data, f"{path}:{name}", sample_rate))

    recordings = read_members(path, _MEMBER, decode, "FSDD")
    if not recordings:
        raise DataError(f"{path} holds no recordings/<digit>_<speaker>_<index>.wav files")
    if expected is not None and len(recordings) != expected:
        raise DataError(f"{path} holds {len(recordings)} recordings, FSDD has {expected}")
    return sorted(recordings, key=lambda r: (r.digit, r.speaker, r.index))


def fix_length(samples: np.ndarray, length: int = LENGTH) -> np.ndarray:
    """Centre a recording in ``length`` samples: zero-pad both sides, or crop the middle."""
    if not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be a positive int, got {length!r}")
    extra = length - len(samples)
    if extra >= 0:
        return np.pad(samples, (extra // 2, extra - extra // 2))
    start = -extra // 2
    return samples[start:start + length]


def load_fsdd(data_dir: str | Path | None = None, download: bool = True,
              length: int = LENGTH, expected: int | None = COUNT) -> AudioData:
    """FSDD's official split from the data directory, a download, or (announced) synthetic digits.

    The synthetic fallback (:func:`lecture21.data.synthetic_audio.synthetic_audio_data`) is
    used only when no archive exists and the download failed or is off; with
    ``LECTURE21_REQUIRE_FSDD=1`` that is a :class:`DataError` instead.
    """
    root = Path(data_dir) if data_dir is not None else config.data_dir()
    archive, downloaded = root / ARCHIVE, root / DOWNLOADED_ARCHIVE
    if archive.is_file():
        found, source = archive, f"FSDD ({archive})"
    elif downloaded.is_file():
        found, source = downloaded, f"FSDD ({downloaded})"
    else:
        download_error = "загрузка отключена (download=False)"
        if download:
            try:
                _download(DOWNLOAD_URL, downloaded)
            except OSError as error:  # no network, refused, HTTP error
                download_error = f"загрузка {DOWNLOAD_URL} не удалась: {error}"
        if not downloaded.is_file():
            return _synthetic_fallback(archive, downloaded, download_error, length)
        found, source = downloaded, f"FSDD ({downloaded}, загружен)"
    recordings = _read_cached(str(found), found.stat().st_mtime_ns, expected)
    return _split(recordings, length, source)


def _synthetic_fallback(archive: Path, downloaded: Path, download_error: str,
                        length: int) -> AudioData:
    """The synthetic digits with a notice in Russian, or an error under LECTURE21_REQUIRE_FSDD."""
    where = (
        f"Искали: {archive} и {downloaded}; {download_error}. "
        f"Чтобы работать с FSDD, задайте {config.DATA_ENV}=<папка с {ARCHIVE}> "
        "или дайте доступ в сеть."
    )
    if config.require_fsdd():
        raise DataError(f"Free Spoken Digit Dataset не найден и не загружен, а "
                        f"{config.REQUIRE_FSDD_ENV}=1 требует настоящих данных. {where}")
    notice = (
        "ВНИМАНИЕ: Free Spoken Digit Dataset не найден и не загружен, поэтому используются "
        "синтетические данные (искусственные «слова» из формант и шума, по образцу английских "
        f"числительных). {where}"
    )
    # Imported here: synthetic_audio builds on this module's AudioData and constants.
    from lecture21.data.synthetic_audio import synthetic_audio_data

    return synthetic_audio_data(length=length, notice=notice)


@functools.lru_cache(maxsize=2)
def _read_cached(path: str, mtime: int, expected: int | None) -> tuple[Recording, ...]:
    # Keyed by the file's modification time too, so a replaced archive is read again.
    return tuple(read_archive(path, expected))


def _split(recordings, length: int, source: str) -> AudioData:
    parts: dict[str, object] = {}
    for split, chosen in (("train", [r for r in recordings if not r.is_test]),
                          ("test", [r for r in recordings if r.is_test])):
        if not chosen:
            raise DataError(f"{source}: no {split} recordings (test: index 0-4, train: 5-49)")
        parts[f"{split}_x"] = torch.from_numpy(
            np.stack([fix_length(r.samples, length) for r in chosen]))
        parts[f"{split}_y"] = torch.tensor([r.digit for r in chosen], dtype=torch.int64)
        parts[f"{split}_lengths"] = torch.tensor([len(r.samples) for r in chosen])
        parts[f"{split}_speakers"] = tuple(r.speaker for r in chosen)
    return AudioData(**parts, classes=CLASSES, sample_rate=SAMPLE_RATE, source=source)


def _download(url: str, target: Path) -> None:
    """Fetch ``url`` into ``target`` atomically (temporary file in the same folder, renamed)."""
    def write(temporary: Path) -> None:
        with open(temporary, "wb") as file, urllib.request.urlopen(url, timeout=60) as reply:
            while chunk := reply.read(1 << 20):
                file.write(chunk)

    atomic_write(target, write)
