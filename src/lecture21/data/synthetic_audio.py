"""A built-in stand-in for the Free Spoken Digit Dataset: ten synthetic spoken "digits".

Used when FSDD can be neither found nor downloaded (and then always announced, see
:func:`lecture21.data.fsdd.load_fsdd`), so that the audio part of the lecture (slide "CNN для
аудио") still runs: waveform -> log-mel spectrogram -> 2-D CNN.

Every "digit" is a fixed sequence of speech-like segments modelled loosely on the English word
(``"six"`` is S-IH-K-S). Each segment is made the way a cascade formant synthesiser (Klatt, 1980)
makes speech, source times filter:

* voiced segments (vowels, R, W, N, the voiced part of V and Z): a sawtooth at the speaker's
  pitch, a harmonic stack, shaped by three two-pole resonances (formants F1-F3; vowel values
  after Peterson & Barney, 1952) that identify the segment;
* noise segments (S, F, TH, the bursts T and K): white noise through one wide resonance.

Segments cross-fade into each other. What varies at random, so that a small CNN has to learn the
formant patterns and their order rather than a template: six synthetic speakers with their own
pitch (95-235 Hz) and vocal-tract length (formants scaled by 0.92-1.14, and by 0.95-1.05 more on
every take); per recording the speaking rate, a pitch contour (a falling or rising curve of a
few per cent), each segment's duration, loudness and formants (+-8 %), consonants said weakly
(down to a tenth), a spectral tilt (the microphone), silence margins (so the onset moves),
background noise 0-25 dB below the word, and the overall level. Some words share most of their
sounds ("five" F-AA-IY-V and "nine" N-AA-IY-N), so the weak consonants matter.

The split has FSDD's shape: 6 speakers x 10 digits x 50 takes, takes 0-4 in the test set (300)
and 5-49 in the training set (2,700), float32 waveforms at 8 kHz on the 16-bit grid of a WAV
file, each recording (median 0.4 s, like FSDD's 0.42 s) centred in ``fsdd.LENGTH`` samples with
zeros around it, as :func:`fsdd.fix_length` centres a real one. Generation is vectorised: one
FFT filter call per (position in the word, segment) group; the default 3,000 recordings take
a few seconds on one CPU core.
"""

from __future__ import annotations

import numpy as np
import torch

from lecture21.data.fsdd import CLASSES, LENGTH, SAMPLE_RATE, TEST_INDICES, AudioData

#: Synthetic speakers: name, mean pitch (Hz), formant scale (shorter vocal tract -> higher).
SPEAKERS = (
    ("bass", 95.0, 0.92),
    ("baritone", 115.0, 0.96),
    ("tenor", 135.0, 1.00),
    ("alto", 175.0, 1.06),
    ("mezzo", 205.0, 1.10),
    ("soprano", 235.0, 1.14),
)

#: Segment -> (formants F1-F3 in Hz or None, voiced gain, noise band (centre, width) in Hz or
#: None, noise gain, nominal duration in ms).
SEGMENTS: dict[str, tuple] = {
    "IY": ((270, 2290, 3010), 1.0, None, 0.0, 110),
    "IH": ((390, 1990, 2550), 1.0, None, 0.0, 90),
    "EH": ((530, 1840, 2480), 1.0, None, 0.0, 100),
    "AA": ((730, 1090, 2440), 1.0, None, 0.0, 120),
    "AO": ((570, 840, 2410), 1.0, None, 0.0, 120),
    "UW": ((300, 870, 2240), 1.0, None, 0.0, 130),
    "AH": ((640, 1190, 2390), 1.0, None, 0.0, 90),
    "ER": ((490, 1350, 1690), 0.9, None, 0.0, 90),
    "OW": ((450, 800, 2400), 1.0, None, 0.0, 120),
    "R": ((350, 1150, 1500), 0.6, None, 0.0, 60),
    "W": ((300, 650, 2200), 0.6, None, 0.0, 60),
    "N": ((250, 1100, 2300), 0.35, None, 0.0, 70),
    "V": ((250, 1200, 2400), 0.25, (2000, 3000), 0.08, 60),
    "Z": ((250, 1500, 2500), 0.15, (3500, 1200), 0.35, 90),
    "S": (None, 0.0, (3500, 1000), 0.45, 110),
    "F": (None, 0.0, (2500, 3500), 0.15, 90),
    "TH": (None, 0.0, (2800, 3500), 0.12, 80),
    "T": (None, 0.0, (3200, 1500), 0.6, 25),
    "K": (None, 0.0, (1800, 900), 0.6, 30),
}

#: Each digit's segments, after the English word.
WORDS = (
    ("Z", "IH", "ER", "OW"),  # zero
    ("W", "AH", "N"),  # one
    ("T", "UW"),  # two
    ("TH", "R", "IY"),  # three
    ("F", "AO", "R"),  # four
    ("F", "AA", "IY", "V"),  # five
    ("S", "IH", "K", "S"),  # six
    ("S", "EH", "V", "AH", "N"),  # seven
    ("EH", "IY", "T"),  # eight
    ("N", "AA", "IY", "N"),  # nine
)

_CONSONANTS = frozenset(("R", "W", "N", "V", "Z", "S", "F", "TH", "T", "K"))
_BANDWIDTHS = (90.0, 120.0, 170.0)  # formant bandwidths (Hz), about those of natural vowels
_RAMP = 0.012  # cross-fade half-width between segments (s)
_TAIL = 256  # samples kept after a segment for its resonances to ring out
_MAX_SEGMENT = max(s[4] for s in SEGMENTS.values()) / 1000 * 1.25 * 1.15 + 2 * _RAMP  # s


def _resonance(freqs: np.ndarray, centre: np.ndarray, bandwidth: np.ndarray) -> np.ndarray:
    """Frequency response of a two-pole resonator, 1 at 0 Hz: ``F^2 / (F^2 - f^2 + i B f)``.

    The analogue formant filter of a cascade synthesiser; complex, so that its impulse response
    is causal (it rings after a pulse, never before) and its magnitude peaks near ``F``.
    """
    c2 = centre**2
    return c2 / (c2 - freqs**2 + 1j * bandwidth * freqs)


def _band(freqs: np.ndarray, centre: np.ndarray, width: np.ndarray) -> np.ndarray:
    """A wide resonance's magnitude scaled to peak 1 (``F / B`` at ``f = F``): a noise colour."""
    return np.abs(_resonance(freqs, centre, width)) * (width / centre)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    """``3x^2 - 2x^3``: 0 to 1 with zero slope at both ends."""
    return x * x * (3 - 2 * x)


def _rms(x: np.ndarray, weight) -> np.ndarray:
    """Root mean square of each row of ``x``, averaged with the weights ``weight``."""
    weight = np.broadcast_to(weight, x.shape)
    return np.sqrt((x**2).sum(1) / np.maximum((weight**2).sum(1), 1e-12)) + 1e-12


def make_spoken_digits(
    takes: int = 50, seed: int = 0, length: int = LENGTH
) -> dict[str, np.ndarray]:
    """Every speaker x digit x take, as arrays.

    Returns ``waves`` float32 ``(N, length)`` in [-1, 1) on the 16-bit grid, ``labels`` int64,
    ``speakers`` (str), ``takes`` int64, and ``lengths`` int64 (each recording's own length
    before it was centred in ``length`` samples), ordered by digit, speaker, take.
    """
    if not isinstance(takes, int) or takes < 1:
        raise ValueError(f"takes must be a positive int, got {takes!r}")
    if not isinstance(length, int) or length < SAMPLE_RATE // 2:
        raise ValueError(f"length must be an int of at least {SAMPLE_RATE // 2}, got {length!r}")
    rng = np.random.default_rng(seed)
    sr = SAMPLE_RATE
    digit, speaker, take = (a.ravel() for a in np.meshgrid(
        np.arange(len(WORDS)), np.arange(len(SPEAKERS)), np.arange(takes), indexing="ij"))
    n = len(digit)
    rows = np.arange(n)
    f0_mean = np.array([s[1] for s in SPEAKERS])[speaker]
    # A speaker's vocal tract, a little different on every take.
    scale = np.array([s[2] for s in SPEAKERS])[speaker] * rng.uniform(0.95, 1.05, n)

    # Timing: segment durations at a random speaking rate, then silence margins around the word.
    slots = max(len(w) for w in WORDS)
    names = np.array([list(w) + [""] * (slots - len(w)) for w in WORDS])[digit]  # (n, slots)
    nominal = np.vectorize(lambda s: SEGMENTS[s][4] if s else 0.0)(names) / 1000.0
    rate = rng.uniform(0.8, 1.25, n)[:, None]
    durations = nominal * rate * rng.uniform(0.85, 1.15, (n, slots))  # seconds; 0 where unused
    margins = rng.uniform(0.02, 0.08, (n, 2))
    word = durations.sum(1)
    lengths = np.minimum(np.round((word + margins.sum(1)) * sr).astype(np.int64), length)
    start_rec = (length - lengths) // 2  # centred, as fsdd.fix_length centres a recording
    onsets = start_rec / sr + margins[:, 0]
    starts = onsets[:, None] + np.cumsum(durations, 1) - durations  # (n, slots) seconds

    # Pitch: f0 (1 + a tau + b tau^2) around the word's middle, mostly falling; its phase in
    # cycles is the integral, a polynomial, so the sawtooth is evaluated only where needed.
    f0 = f0_mean * rng.uniform(0.93, 1.07, n) / sr  # cycles per sample
    mid = onsets + word / 2
    contour = np.stack([rng.uniform(-0.3, 0.1, n), rng.uniform(-0.8, 0.3, n)], 1)
    phase0 = rng.uniform(0, 1, n)
    stress = rng.uniform(0.5, 1.0, (n, slots))
    # Consonants are often said weakly; the microphone tilts the spectrum up or down.
    weak = rng.uniform(0.1, 1.0, (n, slots))
    tilt = rng.uniform(-0.5, 0.5, n)

    pad = int(_MAX_SEGMENT * sr) + _TAIL  # room for windows that reach past either end
    out = np.zeros((n, length + 2 * pad), np.float32)
    # One group per (slot, segment): same kind of sound, so one FFT filter call for all rows.
    for j, name in sorted({(i, s) for i in range(slots) for s in set(names[:, i]) if s}):
        r = rows[names[:, j] == name]
        formants, voiced_gain, band, noise_gain, _ = SEGMENTS[name]
        dur = durations[r, j]
        # The window starts one ramp before the segment and leaves room for ringing after it.
        size = -(-int(((dur.max() + 2 * _RAMP) * sr) + _TAIL) // 256) * 256
        first = np.round((starts[r, j] - _RAMP) * sr).astype(np.int64)
        local = (np.arange(size, dtype=np.float32) / sr)[None, :]  # seconds into the window
        freqs = np.fft.rfftfreq(size, 1 / sr).astype(np.float32)[None, :]
        # Fades of half-width ``ramp`` around the start and end; smoothstep(x) + smoothstep(1 - x)
        # = 1, so a fade-out and the next segment's fade-in cross over at constant level.
        ramp = np.minimum(_RAMP, dur / 3)[:, None].astype(np.float32)
        rise = np.clip((local - (_RAMP - ramp)) / (2 * ramp), 0, 1)
        fall = np.clip((_RAMP + dur[:, None] + ramp - local) / (2 * ramp), 0, 1)
        envelope = _smoothstep(rise) * _smoothstep(fall)
        segment = np.zeros((len(r), size), np.float32)
        microphone = ((freqs + 200) / 1000) ** tilt[r, None].astype(np.float32)
        if voiced_gain:
            tau = ((first / sr - mid[r])[:, None] + local).astype(np.float32)
            a, b = (contour[r, k, None].astype(np.float32) for k in (0, 1))
            cycles = (f0[r, None] * sr) * tau * (1 + tau * (a / 2 + tau * b / 3))
            sawtooth = 2 * ((cycles + phase0[r, None]) % 1.0) - 1
            centres = (np.array(formants) * scale[r, None]
                       * rng.uniform(0.92, 1.08, (len(r), 3))).astype(np.float32)
            shape = microphone.astype(np.complex64)
            for k in range(3):
                shape *= _resonance(freqs, centres[:, k, None],
                                    np.float32(_BANDWIDTHS[k]) * scale[r, None])
            voice = np.fft.irfft(np.fft.rfft(sawtooth * envelope, axis=1) * shape, size, axis=1)
            # Scaled to the RMS its gain asks for, whatever the pitch and formants.
            gain = voiced_gain * (weak[r, j] if name in _CONSONANTS else 1.0)
            segment += voice * (gain / _rms(voice, envelope))[:, None]
        if noise_gain:
            centre = np.minimum(band[0] * scale[r], 3800)[:, None].astype(np.float32)
            white = rng.standard_normal((len(r), size), dtype=np.float32)
            hiss = np.fft.irfft(np.fft.rfft(white, axis=1) * _band(freqs, centre, band[1])
                                * microphone,
                                size, axis=1)
            segment += hiss * envelope * (noise_gain * weak[r, j] / _rms(hiss, 1.0))[:, None]
        index = first[:, None] + pad + np.arange(size)[None, :]
        out[r[:, None], index] += segment * stress[r, j, None]  # one window per row: no clash

    # The recording ends where its margin ends (a resonance still ringing is cut, as a real
    # recording would cut it), with zeros around it like the padding of a real recording.
    samples = np.arange(length)[None, :]
    inside = (samples >= start_rec[:, None]) & (samples < (start_rec + lengths)[:, None])
    out = np.ascontiguousarray(out[:, pad:pad + length])
    out *= inside
    # Level: background noise 0-25 dB below the word's RMS within the recording, then a random
    # peak level (0.1-0.9) on the 16-bit grid of a WAV file.
    rms = np.sqrt(np.einsum("ij,ij->i", out, out) / np.maximum(word * sr, 1))
    level = (rms * 10 ** (-rng.uniform(0, 25, n) / 20)).astype(np.float32)
    noise = rng.standard_normal((n, length), dtype=np.float32)
    noise *= level[:, None]
    noise *= inside
    out += noise
    del noise
    gain = rng.uniform(0.1, 0.9, n) * 32768 / np.maximum(np.abs(out).max(1), 1e-9)
    out *= gain.astype(np.float32)[:, None]
    waves = np.round(out, out=out)
    waves /= 32768
    return {
        "waves": waves,
        "labels": digit.astype(np.int64),
        "speakers": np.array([SPEAKERS[s][0] for s in speaker]),
        "takes": take.astype(np.int64),
        "lengths": lengths,
    }


def synthetic_audio_data(takes: int = 50, seed: int = 0, length: int = LENGTH,
                         notice: str | None = None) -> AudioData:
    """The synthetic set as :class:`lecture21.data.fsdd.AudioData`, split like FSDD.

    Takes 0-4 form the test set, the rest the training set (``takes`` must exceed 5); the
    default gives FSDD's 2,700 / 300. ``notice`` says why FSDD itself is not used.
    """
    if not isinstance(takes, int) or takes <= len(TEST_INDICES):
        raise ValueError(f"takes must be an int above {len(TEST_INDICES)} (the test takes), "
                         f"got {takes!r}")
    made = make_spoken_digits(takes, seed, length)
    test = np.isin(made["takes"], list(TEST_INDICES))
    parts: dict[str, object] = {}
    for split, chosen in (("train", ~test), ("test", test)):
        parts[f"{split}_x"] = torch.from_numpy(made["waves"][chosen])
        parts[f"{split}_y"] = torch.from_numpy(made["labels"][chosen])
        parts[f"{split}_lengths"] = torch.from_numpy(made["lengths"][chosen])
        parts[f"{split}_speakers"] = tuple(made["speakers"][chosen].tolist())
    return AudioData(
        **parts, classes=CLASSES, sample_rate=SAMPLE_RATE,
        source="синтетические данные: произнесённые цифры (lecture21.data.synthetic_audio)",
        synthetic=True, notice=notice,
    )
