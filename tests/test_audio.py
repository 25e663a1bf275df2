"""FSDD loading, the mel spectrogram (against librosa), and AudioCNN."""

import io
import os
import tarfile
import urllib.error
import urllib.request
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from lecture21 import audio, models
from lecture21.data import DataError, fsdd, load_fsdd
from lecture21.models.audio_cnn import AudioCNN

SHARED = Path(os.environ.get("LECTURE21_DATA", "/nonexistent")) / fsdd.ARCHIVE


def _wav(samples: np.ndarray, rate: int = 8000, channels: int = 1, width: int = 2) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2" if width == 2 else "u1").tobytes())
    return buffer.getvalue()


def _tone(digit: int, n: int, amplitude: int = 8000) -> np.ndarray:
    t = np.arange(n) / 8000
    return (amplitude * np.sin(2 * np.pi * (200 + 100 * digit) * t)).astype(np.int16)


def make_archive(path, indices=range(0, 7), speakers=("alice",), rate=8000, extra=(),
                 prefix="recordings", mode="w:xz") -> int:
    """A tiny FSDD: one tone per digit, ``len(indices)`` takes of varying length per speaker,
    each speaker at another loudness."""
    count = 0
    with tarfile.open(path, mode) as tar:
        files = [
            (f"{prefix}/{d}_{s}_{i}.wav", _wav(_tone(d, 3000 + 700 * i, 8000 // (1 + k)), rate))
            for d in range(10) for k, s in enumerate(speakers) for i in indices
        ]
        for name, payload in [*files, *extra]:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
            count += name.endswith(".wav")
    return count


# --- the loader --------------------------------------------------------------------------------


def test_official_split_labels_lengths_and_padding(tmp_path):
    make_archive(tmp_path / fsdd.ARCHIVE, indices=range(0, 7), speakers=("alice", "bob"))
    d = load_fsdd(tmp_path, download=False, expected=None, length=6000)
    # index 0-4 -> test, 5-6 -> train: 10 digits x 2 speakers x 5 / 2
    assert d.test_waves.shape == (100, 6000) and d.train_waves.shape == (40, 6000)
    assert d.train_waves.dtype == torch.float32 and d.sample_rate == 8000
    assert sorted(set(d.test_labels.tolist())) == list(range(10))
    assert d.train_lengths.tolist()[:2] == [3000 + 700 * 5, 3000 + 700 * 6]
    assert set(d.train_speakers) == {"alice", "bob"}
    # a 3,000-sample take is centred in 6,000: 1,500 zeros on each side, then the tone itself
    take = d.test_waves[0]
    assert take[:1500].abs().max() == 0 and take[4500:].abs().max() == 0
    expected = _tone(0, 3000).astype(np.float32) / 32768
    np.testing.assert_array_equal(take[1500:4500].numpy(), expected)


def test_long_recordings_are_cropped_around_the_middle():
    samples = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(fsdd.fix_length(samples, 4), [3, 4, 5, 6])
    # 3 samples in 6: one zero before, two after
    np.testing.assert_array_equal(fsdd.fix_length(samples[:3] + 1, 6), [0, 1, 2, 3, 0, 0])
    with pytest.raises(ValueError, match="length"):
        fsdd.fix_length(samples, 0)


def test_subset_is_seeded_and_keeps_speakers_aligned(tmp_path):
    make_archive(tmp_path / fsdd.ARCHIVE, speakers=("alice", "bob"))
    d = load_fsdd(tmp_path, download=False, expected=None)
    a, b = d.subset(7, 9, seed=3), d.subset(7, 9, seed=3)
    assert torch.equal(a.train_waves, b.train_waves) and len(a.test_labels) == 9
    assert len(a.train_speakers) == 7
    index = [i for i in range(len(d.train_labels)) if torch.equal(d.train_waves[i],
                                                                  a.train_waves[0])][0]
    assert a.train_speakers[0] == d.train_speakers[index]
    with pytest.raises(ValueError, match="train_size"):
        d.subset(0, None)


def test_missing_archive_without_download_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match=r"FSDD not found.*LECTURE21_DATA"):
        load_fsdd(tmp_path, download=False)


def test_failed_download_says_where_it_looked(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    with pytest.raises(DataError, match="download .* failed"):
        load_fsdd(tmp_path, download=True)
    assert not list(tmp_path.iterdir()), "a failed download must leave no partial file"


def test_corrupt_or_truncated_archive_is_a_clear_error(tmp_path):
    (tmp_path / fsdd.ARCHIVE).write_bytes(b"this is not an xz archive")
    with pytest.raises(DataError, match="not a readable FSDD archive"):
        load_fsdd(tmp_path, download=False, expected=None)
    whole = tmp_path / "whole.tar.xz"
    make_archive(whole)
    payload = whole.read_bytes()
    (tmp_path / fsdd.ARCHIVE).write_bytes(payload[: len(payload) // 2])
    with pytest.raises(DataError, match="corrupt or truncated"):
        fsdd.read_archive(tmp_path / fsdd.ARCHIVE, expected=None)


def test_missing_recordings_are_counted(tmp_path):
    count = make_archive(tmp_path / fsdd.ARCHIVE)
    with pytest.raises(DataError, match=f"holds {count} recordings, FSDD has 3000"):
        fsdd.read_archive(tmp_path / fsdd.ARCHIVE)
    empty = tmp_path / "empty.tar.xz"
    make_archive(empty, indices=())
    with pytest.raises(DataError, match="holds no recordings"):
        fsdd.read_archive(empty, expected=None)
    with pytest.raises(DataError, match="does not exist"):
        fsdd.read_archive(tmp_path / "absent.tar.xz")


def test_wrong_sample_rate_channels_and_width_are_named(tmp_path):
    bad = [("recordings/3_eve_0.wav", _wav(_tone(3, 2000), rate=16000))]
    make_archive(tmp_path / "rate.tar.xz", extra=bad)
    with pytest.raises(DataError, match=r"3_eve_0\.wav has sample rate 16000 Hz, expected 8000"):
        fsdd.read_archive(tmp_path / "rate.tar.xz", expected=None)
    stereo = _wav(np.zeros(200, np.int16), channels=2)
    with pytest.raises(DataError, match="2 channels, expected mono"):
        fsdd.read_wav(stereo)
    with pytest.raises(DataError, match="8-bit samples"):
        fsdd.read_wav(_wav(np.zeros(200, np.uint8), width=1))
    with pytest.raises(DataError, match="not a readable WAV"):
        fsdd.read_wav(b"RIFF....garbage")


def test_repository_archive_layout_is_read_too(tmp_path):
    """The GitHub tarball nests the folder: free-spoken-digit-dataset-1.0.10/recordings/..."""
    make_archive(tmp_path / fsdd.DOWNLOADED_ARCHIVE, prefix="fsdd-1.0.10/recordings",
                 mode="w:gz", extra=[("fsdd-1.0.10/README.md", b"readme")])
    d = load_fsdd(tmp_path, download=False, expected=None)
    assert len(d.test_labels) == 50 and "fsdd-v1.0.10" in d.source


@pytest.mark.skipif(not SHARED.is_file(), reason="the shared FSDD archive is not available")
def test_the_real_archive_has_the_official_split():
    d = load_fsdd(SHARED.parent, download=False)
    assert len(d.train_labels) == 2700 and len(d.test_labels) == 300
    assert torch.bincount(d.test_labels).tolist() == [30] * 10
    assert len(set(d.train_speakers)) == 6
    assert (d.train_lengths <= 18_262).all() and d.train_waves.abs().max() <= 1


# --- the mel spectrogram, against librosa ------------------------------------------------------


@pytest.mark.parametrize(
    "sr, n_fft, n_mels, fmin, fmax, htk",
    [(8000, 256, 32, 0.0, None, False), (22050, 2048, 128, 0.0, None, False),
     (16000, 512, 64, 50.0, 7000.0, True), (8000, 200, 10, 300.0, 3400.0, False)],
)
def test_mel_filterbank_matches_librosa(sr, n_fft, n_mels, fmin, fmax, htk):
    librosa = pytest.importorskip("librosa")  # the reference, a test dependency
    ours = audio.mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk=htk)
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-6, atol=1e-9)


def test_mel_scale_round_trip_and_known_points():
    librosa = pytest.importorskip("librosa")  # the reference, a test dependency
    f = torch.tensor([0.0, 500.0, 1000.0, 4000.0], dtype=torch.float64)
    np.testing.assert_allclose(audio.hz_to_mel(f), librosa.hz_to_mel(f.numpy()), rtol=1e-12)
    np.testing.assert_allclose(audio.hz_to_mel(f, htk=True),
                               librosa.hz_to_mel(f.numpy(), htk=True), rtol=1e-12)
    np.testing.assert_allclose(audio.mel_to_hz(audio.hz_to_mel(f)), f, atol=1e-9)
    assert float(audio.hz_to_mel(1000.0)) == pytest.approx(15.0)  # Slaney: 1 kHz = 15 mel


@pytest.mark.parametrize("hop, power", [(128, 2.0), (80, 1.0), (64, 2.0)])
def test_mel_spectrogram_matches_librosa(hop, power):
    librosa = pytest.importorskip("librosa")  # the reference, a test dependency
    rng = np.random.default_rng(0)
    y = (0.1 * rng.standard_normal(8000) + 0.3 * np.sin(np.arange(8000) * 0.3)).astype(np.float32)
    ours = audio.mel_spectrogram(torch.from_numpy(y), 8000, 256, hop, 32, power=power)
    ref = librosa.feature.melspectrogram(y=y, sr=8000, n_fft=256, hop_length=hop, n_mels=32,
                                         power=power)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-4, atol=1e-6 * ref.max())


def test_log_mel_matches_librosa_power_to_db_per_recording():
    librosa = pytest.importorskip("librosa")  # the reference, a test dependency
    rng = np.random.default_rng(1)
    batch = (rng.standard_normal((3, 4000)) * np.array([[1.0], [0.01], [1e-4]])).astype(np.float32)
    ours = audio.log_mel_spectrogram(torch.from_numpy(batch), 8000)
    absolute = audio.log_mel_spectrogram(torch.from_numpy(batch), 8000, ref=1.0)
    for row, row_absolute, y in zip(ours, absolute, batch):
        mel = librosa.feature.melspectrogram(y=y, sr=8000, n_fft=256, hop_length=128, n_mels=32)
        reference = librosa.power_to_db(mel, ref=np.max, top_db=80.0)
        np.testing.assert_allclose(row.numpy(), reference, atol=1e-3)
        np.testing.assert_allclose(row_absolute.numpy(), librosa.power_to_db(mel), atol=1e-3)
    assert ours.shape == (3, 32, 1 + 4000 // 128)
    # relative to each recording's peak: loudness does not matter, values lie in [-80, 0]
    torch.testing.assert_close(ours[0], audio.log_mel_spectrogram(
        torch.from_numpy(batch[:1] * 7), 8000)[0], atol=1e-3, rtol=0)
    assert ours.max() == 0 and ours.min() >= -80
    with pytest.raises(ValueError, match="ref"):
        audio.power_to_db(torch.ones(2, 2), ref="min")


def test_a_tone_lights_up_its_mel_band():
    t = torch.arange(8000) / 8000
    spec = audio.log_mel_spectrogram(torch.sin(2 * torch.pi * 1000 * t), 8000)
    centres = audio.mel_to_hz(torch.linspace(0, float(audio.hz_to_mel(4000.0)), 34))[1:-1]
    band = int(spec[:, 20:40].mean(1).argmax())
    assert abs(float(centres[band]) - 1000) < 100


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="waves"):
        audio.mel_spectrogram(torch.zeros(100, dtype=torch.int16), 8000)
    with pytest.raises(ValueError, match="fmax"):
        audio.mel_filterbank(8000, 256, fmax=5000)
    with pytest.raises(ValueError, match="n_mels"):
        audio.mel_filterbank(8000, 256, n_mels=0)
    with pytest.raises(ValueError, match="hop_length"):
        audio.power_spectrogram(torch.zeros(1000), hop_length=0)


# --- AudioCNN ----------------------------------------------------------------------------------


def test_audio_cnn_shapes_and_registry():
    model = models.create("audio_cnn", "audio", num_classes=10)
    assert isinstance(model, AudioCNN)
    x = torch.randn(4, 32, 63)
    assert model(x).shape == (4, 10)
    assert model(x[:, None]).shape == (4, 10)
    # global average pooling: any recording length gives the same output size
    assert model(torch.randn(2, 32, 130)).shape == (2, 10)
    with pytest.raises(ValueError, match="spectrograms"):
        model(torch.randn(2, 3, 32, 63))
    with pytest.raises(ValueError, match="at least 8"):
        model(torch.randn(2, 4, 63))
    with pytest.raises(ValueError, match="no variant"):
        models.create("audio_cnn", "cifar")


def test_audio_cnn_learns_tones(tmp_path):
    """Ten tones, one per digit: a few epochs of the engine separate them."""
    from lecture21.train import HyperParams, TensorData, fit

    make_archive(tmp_path / fsdd.ARCHIVE, indices=range(0, 10), speakers=("alice", "bob"))
    d = load_fsdd(tmp_path, download=False, expected=None, length=2000)
    torch.manual_seed(0)  # the same faint noise floor in both splits: no shift between them
    x_train, x_test = (audio.log_mel_spectrogram(w + 0.01 * torch.randn_like(w), 8000)
                       for w in (d.train_waves, d.test_waves))
    data = TensorData(x_train, d.train_labels, x_test, d.test_labels, d.classes)
    hp = HyperParams(epochs=10, batch_size=10, lr=0.1, crop_padding=0, flip=False,
                     tta_flip=False)
    result = fit(models.create("audio_cnn", "audio", num_classes=10, widths=(8, 8, 8)), data,
                 hp, progress=False, device="cpu")
    assert result.test_accuracy >= 0.85, result.history  # chance: 0.1
