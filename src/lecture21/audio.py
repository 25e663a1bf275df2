"""The mel spectrogram: what an audio CNN looks at (slide "CNN для аудио").

A waveform is cut into short overlapping windows; each window's spectrum (``torch.stft``) says
how strong every frequency is at that moment. A mel filter bank then pools the linear frequency
bins into bands spaced like human pitch perception (dense at low frequencies, sparse at high),
and a logarithm (decibels) compresses the huge dynamic range. The result is a picture: X axis
time, Y axis frequency in mel, brightness the strength of that frequency, and a 2-D CNN
classifies it like an image.

The mel scale and filter bank follow Slaney's Auditory Toolbox (the default of librosa, which the
tests use as the reference); ``htk=True`` gives the HTK formula ``2595 log10(1 + f / 700)``.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "hz_to_mel",
    "log_mel_spectrogram",
    "mel_filterbank",
    "mel_spectrogram",
    "mel_to_hz",
    "power_spectrogram",
    "power_to_db",
]

# Slaney's scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOG_STEP = math.log(6.4) / 27.0


def hz_to_mel(frequencies: torch.Tensor | float, htk: bool = False) -> torch.Tensor:
    """Frequencies in Hz to mel (Slaney's scale, or HTK's with ``htk=True``)."""
    f = torch.as_tensor(frequencies, dtype=torch.float64)
    if htk:
        return 2595.0 * torch.log10(1.0 + f / 700.0)
    linear = f / _F_SP
    log = _MIN_LOG_MEL + torch.log(f.clamp(min=_MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOG_STEP
    return torch.where(f >= _MIN_LOG_HZ, log, linear)


def mel_to_hz(mels: torch.Tensor | float, htk: bool = False) -> torch.Tensor:
    """Inverse of :func:`hz_to_mel`."""
    m = torch.as_tensor(mels, dtype=torch.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    linear = _F_SP * m
    log = _MIN_LOG_HZ * torch.exp(_LOG_STEP * (m - _MIN_LOG_MEL))
    return torch.where(m >= _MIN_LOG_MEL, log, linear)


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int = 128, fmin: float = 0.0,
    fmax: float | None = None, htk: bool = False, norm: str | None = "slaney",
) -> torch.Tensor:
    """Triangular mel filters, float32 ``(n_mels, n_fft // 2 + 1)``.

    Filter ``m`` rises linearly from mel point ``m`` to ``m + 1`` and falls to ``m + 2``, the
    ``n_mels + 2`` points spaced evenly in mel between ``fmin`` and ``fmax`` (default: Nyquist).
    ``norm="slaney"`` divides each triangle by its width in Hz so that every band has equal
    area (equal energy for white noise); ``None`` keeps peaks at 1.
    """
    if not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive int (Hz), got {sample_rate!r}")
    if not isinstance(n_fft, int) or n_fft < 2:
        raise ValueError(f"n_fft must be an int >= 2, got {n_fft!r}")
    if not isinstance(n_mels, int) or n_mels < 1:
        raise ValueError(f"n_mels must be a positive int, got {n_mels!r}")
    fmax = sample_rate / 2 if fmax is None else fmax
    if not 0 <= fmin < fmax <= sample_rate / 2:
        raise ValueError(
            f"need 0 <= fmin < fmax <= sample_rate / 2 = {sample_rate / 2}, "
            f"got fmin={fmin!r}, fmax={fmax!r}"
        )
    if norm not in ("slaney", None):
        raise ValueError(f"norm must be 'slaney' or None, got {norm!r}")
    fft_hz = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    mel_points = torch.linspace(float(hz_to_mel(fmin, htk)), float(hz_to_mel(fmax, htk)),
                                n_mels + 2, dtype=torch.float64)
    hz_points = mel_to_hz(mel_points, htk)
    widths = hz_points.diff()  # (n_mels + 1,)
    distance = hz_points[:, None] - fft_hz[None, :]  # (n_mels + 2, bins)
    rising = -distance[:-2] / widths[:-1, None]
    falling = distance[2:] / widths[1:, None]
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    if norm == "slaney":
        weights = weights * (2.0 / (hz_points[2:] - hz_points[:-2]))[:, None]
    return weights.float()


def power_spectrogram(
    waves: torch.Tensor, n_fft: int = 256, hop_length: int | None = None,
    win_length: int | None = None, center: bool = True, power: float = 2.0,
) -> torch.Tensor:
    """``|STFT|^power`` with a periodic Hann window, ``(..., n_fft // 2 + 1, frames)``.

    With ``center=True`` each frame is centred on its time step: the signal is zero-padded by
    ``n_fft // 2`` on both sides (librosa's default since 0.10).
    """
    waves = _check_waves(waves)
    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    if not isinstance(hop_length, int) or hop_length < 1:
        raise ValueError(f"hop_length must be a positive int, got {hop_length!r}")
    if not isinstance(win_length, int) or not 1 <= win_length <= n_fft:
        raise ValueError(f"win_length must be an int in [1, n_fft={n_fft}], got {win_length!r}")
    shape = waves.shape
    flat = waves.reshape(-1, shape[-1])
    if center:  # padded here, not by torch.stft, whose pad_mode only reflects or replicates
        flat = torch.nn.functional.pad(flat, (n_fft // 2, n_fft // 2))
    window = torch.hann_window(win_length, periodic=True, dtype=flat.dtype, device=flat.device)
    spectrum = torch.stft(flat, n_fft, hop_length, win_length, window, center=False,
                          return_complex=True)
    magnitude = spectrum.abs() ** power
    return magnitude.reshape(*shape[:-1], *magnitude.shape[-2:])


def mel_spectrogram(
    waves: torch.Tensor, sample_rate: int, n_fft: int = 256, hop_length: int | None = 128,
    n_mels: int = 32, fmin: float = 0.0, fmax: float | None = None, power: float = 2.0,
    center: bool = True,
) -> torch.Tensor:
    """Mel-band power ``(..., n_mels, frames)`` of waveforms ``(..., samples)``."""
    spectrum = power_spectrogram(waves, n_fft, hop_length, center=center, power=power)
    bank = mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax).to(spectrum)
    return torch.matmul(bank, spectrum)


def power_to_db(
    power: torch.Tensor, ref: float | str = 1.0, amin: float = 1e-10,
    top_db: float | None = 80.0,
) -> torch.Tensor:
    """``10 log10(max(power, amin) / ref)``, floored at ``top_db`` below each example's peak.

    Each example is the last two dimensions (a spectrogram), so a batch ``(N, mels, frames)`` is
    handled per recording, as librosa handles one recording. ``ref="max"`` (librosa's
    ``ref=np.max``) measures every recording against its own loudest point, so the values lie in
    ``[-top_db, 0]`` however loudly the word was spoken.
    """
    if amin <= 0:
        raise ValueError(f"amin must be positive, got {amin!r}")
    if top_db is not None and top_db < 0:
        raise ValueError(f"top_db must be non-negative or None, got {top_db!r}")
    db = 10.0 * torch.log10(power.clamp(min=amin))
    if ref == "max":
        db = db - 10.0 * torch.log10(power.amax(dim=(-2, -1), keepdim=True).clamp(min=amin))
    elif isinstance(ref, int | float) and ref > 0:
        db = db - 10.0 * math.log10(max(amin, ref))
    else:
        raise ValueError(f"ref must be a positive number or 'max', got {ref!r}")
    if top_db is not None:
        peak = db.amax(dim=(-2, -1), keepdim=True)
        db = torch.maximum(db, peak - top_db)
    return db


def log_mel_spectrogram(
    waves: torch.Tensor, sample_rate: int, n_fft: int = 256, hop_length: int | None = 128,
    n_mels: int = 32, ref: float | str = "max", top_db: float | None = 80.0,
) -> torch.Tensor:
    """Log-mel spectrogram in dB, ``(..., n_mels, frames)``: the audio CNN's input picture.

    Defaults fit 8 kHz speech and a CPU budget: 32 ms windows (``n_fft=256``) overlapping by
    half (a 16 ms hop), 32 mel bands up to 4 kHz; one second becomes a 32 x 63 picture. With
    ``ref="max"`` each recording's values lie in ``[-top_db, 0]`` dB below its loudest point.
    """
    return power_to_db(mel_spectrogram(waves, sample_rate, n_fft, hop_length, n_mels),
                       ref=ref, top_db=top_db)


def _check_waves(waves: object) -> torch.Tensor:
    if not isinstance(waves, torch.Tensor) or not waves.is_floating_point():
        kind = f"{waves.dtype} tensor" if isinstance(waves, torch.Tensor) else type(waves).__name__
        raise ValueError(f"waves must be a float tensor (..., samples), got {kind}")
    if waves.ndim < 1 or waves.shape[-1] < 2:
        raise ValueError(f"waves must have shape (..., samples), got {tuple(waves.shape)}")
    return waves
