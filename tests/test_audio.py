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
    assert d.test_x.shape == (100, 6000) and d.train_x.shape == (40, 6000)
    assert d.train_x.dtype == torch.float32 and d.sample_rate == 8000
    assert sorted(set(d.test_y.tolist())) == list(range(10))
    assert d.train_lengths.tolist()[:2] == [3000 + 700 * 5, 3000 + 700 * 6]
    assert set(d.train_speakers) == {"alice", "bob"}
    # a 3,000-sample take is centred in 6,000: 1,500 zeros on each side, then the tone itself
    take = d.test_x[0]
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
    assert torch.equal(a.train_x, b.train_x) and len(a.test_y) == 9
    assert len(a.train_speakers) == 7
    index = [i for i in range(len(d.train_y)) if torch.equal(d.train_x[i],
                                                                  a.train_x[0])][0]
    assert a.train_speakers[0] == d.train_speakers[index]
    with pytest.raises(ValueError, match="train_size"):
        d.subset(0, None)


def test_missing_archive_without_download_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LECTURE21_REQUIRE_FSDD", "1")  # else: the synthetic fallback
    with pytest.raises(DataError, match=r"не найден.*загрузка отключена.*LECTURE21_DATA"):
        load_fsdd(tmp_path, download=False)


def test_failed_download_says_where_it_looked(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setenv("LECTURE21_REQUIRE_FSDD", "1")  # else: the synthetic fallback
    with pytest.raises(DataError, match="загрузка .* не удалась: .*no network"):
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
    assert len(d.test_y) == 50 and "fsdd-v1.0.10" in d.source


@pytest.mark.skipif(not SHARED.is_file(), reason="the shared FSDD archive is not available")
def test_the_real_archive_has_the_official_split():
    d = load_fsdd(SHARED.parent, download=False)
    assert len(d.train_y) == 2700 and len(d.test_y) == 300
    assert torch.bincount(d.test_y).tolist() == [30] * 10
    assert len(set(d.train_speakers)) == 6
    assert (d.train_lengths <= 18_262).all() and d.train_x.abs().max() <= 1


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
                       for w in (d.train_x, d.test_x))
    data = TensorData(x_train, d.train_y, x_test, d.test_y, d.classes)
    hp = HyperParams(epochs=10, batch_size=10, lr=0.1, crop_padding=0, flip=False,
                     tta_flip=False)
    result = fit(models.create("audio_cnn", "audio", num_classes=10, widths=(8, 8, 8)), data,
                 hp, progress=False, device="cpu")
    assert result.test_accuracy >= 0.85, result.history  # chance: 0.1


# --- the synthetic fallback --------------------------------------------------------------------


@pytest.fixture(scope="module")
def fallback():
    """What ``load_fsdd`` gives on a machine with no data and no download: generated once."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("LECTURE21_REQUIRE_FSDD", raising=False)
        import tempfile

        with tempfile.TemporaryDirectory() as empty:
            return load_fsdd(empty, download=False)


def _small_synthetic(monkeypatch):
    """Make the fallback generate 6 takes per speaker and digit instead of 50: fast tests."""
    from functools import partial

    from lecture21.data import synthetic_audio

    monkeypatch.setattr(synthetic_audio, "synthetic_audio_data",
                        partial(synthetic_audio.synthetic_audio_data, takes=6))


def test_synthetic_digits_repeat_under_a_seed_and_look_like_wav_files():
    from lecture21.data.synthetic_audio import SPEAKERS, WORDS, make_spoken_digits

    a, b = make_spoken_digits(6, seed=3), make_spoken_digits(6, seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["waves"], make_spoken_digits(6, seed=4)["waves"])
    n = len(WORDS) * len(SPEAKERS) * 6
    waves = a["waves"]
    assert waves.shape == (n, fsdd.LENGTH) and waves.dtype == np.float32
    assert a["labels"].tolist() == np.repeat(np.arange(10), 36).tolist()
    assert set(a["speakers"]) == {s[0] for s in SPEAKERS} and a["takes"].max() == 5
    # on the 16-bit grid of a WAV file, peaks between 0.1 and 0.9
    np.testing.assert_array_equal(np.round(waves * 32768) / 32768, waves)
    peaks = np.abs(waves).max(1)
    assert peaks.min() >= 0.09 and peaks.max() <= 0.9
    # each recording centred in the second as fsdd.fix_length centres one: zeros around it
    for take, length in zip(waves, a["lengths"]):
        start = (fsdd.LENGTH - length) // 2
        assert not take[:start].any() and not take[start + length:].any()
        assert np.abs(take[start:start + length]).max() > 0
    seconds = a["lengths"] / fsdd.SAMPLE_RATE
    assert 0.3 < np.median(seconds) < 0.55 and seconds.max() < 1  # FSDD's median: 0.42 s
    with pytest.raises(ValueError, match="takes"):
        make_spoken_digits(0)


def test_synthetic_speakers_speak_at_their_pitch():
    """librosa's YIN, an independent estimator, finds each speaker's pitch in its vowels."""
    librosa = pytest.importorskip("librosa")
    from lecture21.data.synthetic_audio import SPEAKERS, make_spoken_digits

    made = make_spoken_digits(6, seed=0)
    for name, pitch, _ in SPEAKERS:
        # "two" = T UW: the middle of the recording is the vowel
        chosen = (made["speakers"] == name) & (made["labels"] == 2)
        estimates = []
        for take in made["waves"][chosen]:
            middle = take[fsdd.LENGTH // 2 - 400:fsdd.LENGTH // 2 + 400]
            f0 = librosa.yin(middle, fmin=60, fmax=400, sr=8000, frame_length=512)
            estimates.append(np.median(f0))
        assert abs(np.median(estimates) / pitch - 1) < 0.15, (name, pitch, estimates)


def test_fallback_has_fsdd_split_and_announces_itself(fallback):
    d = fallback
    assert d.synthetic and d.source.startswith("синтетические данные")
    assert len(d.train_y) == 2700 and len(d.test_y) == 300
    assert torch.bincount(d.test_y).tolist() == [30] * 10
    assert torch.bincount(d.train_y).tolist() == [270] * 10
    assert len(set(d.train_speakers)) == 6 and set(d.test_speakers) == set(d.train_speakers)
    assert d.train_x.shape == (2700, fsdd.LENGTH) and d.sample_rate == 8000
    assert d.train_x.dtype == torch.float32 and d.train_x.abs().max() < 1
    # the notice says what was not found, where it looked, why, and what to set
    assert "ВНИМАНИЕ" in d.notice and "не найден" in d.notice
    assert fsdd.ARCHIVE in d.notice and fsdd.DOWNLOADED_ARCHIVE in d.notice
    assert "загрузка отключена" in d.notice and "LECTURE21_DATA" in d.notice
    assert d.title("Кривые обучения") == "Кривые обучения (синтетические данные)"
    small = d.subset(20, 10, seed=1)
    assert small.synthetic and small.notice == d.notice and len(small.train_speakers) == 20


def test_real_data_titles_are_left_alone(tmp_path):
    make_archive(tmp_path / fsdd.ARCHIVE)
    d = load_fsdd(tmp_path, download=False, expected=None)
    assert not d.synthetic and d.notice is None and d.title("Кривые") == "Кривые"
    assert not d.subset(5, 5).synthetic


def test_failed_download_falls_back_and_says_why(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.delenv("LECTURE21_REQUIRE_FSDD", raising=False)
    _small_synthetic(monkeypatch)
    d = load_fsdd(tmp_path, download=True)
    assert d.synthetic and len(d.test_y) == 300 and len(d.train_y) == 60
    assert "не удалась" in d.notice and "no network" in d.notice and fsdd.DOWNLOAD_URL in d.notice
    assert not list(tmp_path.iterdir()), "a failed download must leave no partial file"


@pytest.mark.parametrize("value, required", [("1", True), ("yes", True), ("0", False), ("", False)])
def test_require_fsdd_makes_the_fallback_an_error(tmp_path, monkeypatch, value, required):
    from lecture21 import config

    monkeypatch.setenv(config.REQUIRE_FSDD_ENV, value)
    _small_synthetic(monkeypatch)
    assert config.require_fsdd() is required
    if required:
        with pytest.raises(DataError, match=r"не найден.*LECTURE21_REQUIRE_FSDD=1"):
            load_fsdd(tmp_path, download=False)
    else:
        assert load_fsdd(tmp_path, download=False).synthetic


@pytest.mark.parametrize("require", ["0", "1"])
def test_a_broken_archive_is_never_a_reason_to_fall_back(tmp_path, monkeypatch, require):
    def no_download(*args, **kwargs):
        raise AssertionError("a present archive must not be downloaded again")

    monkeypatch.setattr(urllib.request, "urlopen", no_download)
    monkeypatch.setenv("LECTURE21_REQUIRE_FSDD", require)
    (tmp_path / fsdd.ARCHIVE).write_bytes(b"this is not an xz archive")
    with pytest.raises(DataError, match="not a readable FSDD archive"):
        load_fsdd(tmp_path, download=True)
    (tmp_path / fsdd.ARCHIVE).unlink()
    make_archive(tmp_path / fsdd.DOWNLOADED_ARCHIVE, mode="w:gz")  # present, but 70 of 3,000
    with pytest.raises(DataError, match="holds 70 recordings"):
        load_fsdd(tmp_path, download=True)


def test_audio_cnn_learns_the_synthetic_digits(fallback):
    """A tiny AudioCNN, a few epochs on part of the fallback set: far above chance (0.1).

    Coarse spectrograms (16 mel bands, 32 ms hops, the middle 0.75 s) keep it to seconds;
    measured: 0.88-0.92 test accuracy after 5-6 epochs.
    """
    from lecture21.train import HyperParams, TensorData, fit

    d = fallback.subset(900, 300, seed=0)
    x_train, x_test = (audio.log_mel_spectrogram(w[:, 1000:7000], 8000, n_fft=512, hop_length=256,
                                                 n_mels=16) for w in (d.train_x, d.test_x))
    data = TensorData(x_train, d.train_y, x_test, d.test_y, d.classes)
    hp = HyperParams(epochs=5, batch_size=16, lr=0.05, crop_padding=0, flip=False,
                     tta_flip=False, seed=0)
    torch.manual_seed(0)
    result = fit(models.create("audio_cnn", "audio", num_classes=10, widths=(8, 16, 16)), data,
                 hp, progress=False, device="cpu")
    assert result.test_accuracy >= 0.5, result.history
