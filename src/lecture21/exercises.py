"""Check functions for the exercises at the end of every notebook: the student writes an answer,
the function says whether it is right.

The right answer is never typed here: each function computes it from the thing the question is
about (a real ``nn.Conv1d`` for an output length, the module's own parameters, the package's
receptive-field and spectrogram code, which their tests check against published values and
librosa). Each returns a :class:`Verdict`, which prints itself in Russian in a notebook and is
truthy when the answer is right, so a solution cell can ``assert`` it and CI runs it.

An unanswered exercise (``answer=None``) is not an error: the verdict asks for an answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = [
    "Verdict",
    "check_number",
    "check_tensor",
    "conv_output_size",
    "macs",
    "parameter_count",
    "receptive_field",
    "spectrogram_frames",
]


@dataclass(frozen=True)
class Verdict:
    """Whether an answer is right, and a message that says so (in Russian)."""

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return self.message

    def _repr_markdown_(self) -> str:
        return f"**{self.message}**" if self.ok else self.message


def _number(answer, expected: float, what: str, tolerance: float = 0.0) -> Verdict:
    if answer is None:
        return Verdict(False, f"Впишите ответ: {what}.")
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        raise ValueError(f"answer must be a number, got {type(answer).__name__}: {answer!r}")
    if abs(answer - expected) <= tolerance * max(1.0, abs(expected)):
        return Verdict(True, f"✓ Верно: {what} = {_shown(expected)}.")
    hint = "больше" if answer < expected else "меньше"
    return Verdict(False, f"✗ Пока нет: {what} — не {_shown(answer)}, правильный ответ {hint}.")


def _shown(number: float) -> str:
    """1,180,672 (every digit), 0.1267: as the notebooks print their numbers around a verdict."""
    return f"{int(number):,}" if float(number).is_integer() else f"{number:.4g}"


def check_number(answer, expected: float, what: str = "ответ", tolerance: float = 0.0
                 ) -> Verdict:
    """``answer`` against a number the notebook computed (relative ``tolerance``)."""
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    return _number(answer, float(expected), what, tolerance)


def check_tensor(answer, expected: torch.Tensor, what: str = "тензор", atol: float = 1e-5
                 ) -> Verdict:
    """``answer`` against a tensor the notebook computed: same shape, values within ``atol``."""
    if answer is None:
        return Verdict(False, f"Впишите ответ: {what}.")
    if not isinstance(answer, torch.Tensor):
        raise ValueError(f"answer must be a torch.Tensor, got {type(answer).__name__}")
    if answer.shape != expected.shape:
        return Verdict(False, f"✗ Пока нет: {what} формы {tuple(answer.shape)}, а нужна "
                              f"{tuple(expected.shape)}.")
    error = (answer.double() - expected.double()).abs().max().item()
    if error <= atol:
        return Verdict(True, f"✓ Верно: {what} совпадает (расхождение {error:.1e}).")
    return Verdict(False, f"✗ Пока нет: {what} отличается на {error:.3g} (допуск {atol:g}).")


def conv_output_size(answer, size: int, kernel: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> Verdict:
    """Output length of a convolution over ``size`` positions, found by running a real
    ``nn.Conv1d`` (the same rule holds for each axis of ``nn.Conv2d``)."""
    for name, value in (("size", size), ("kernel", kernel), ("stride", stride),
                        ("dilation", dilation)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be a non-negative int, got {padding!r}")
    conv = nn.Conv1d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation)
    with torch.no_grad():
        expected = conv(torch.zeros(1, 1, size)).shape[-1]
    return _number(answer, expected, f"длина выхода свёртки (вход {size}, ядро {kernel}, "
                                     f"шаг {stride}, дополнение {padding})")


def parameter_count(answer, module: nn.Module) -> Verdict:
    """The number of parameters of ``module``, counted from its own tensors."""
    if not isinstance(module, nn.Module):
        raise ValueError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    expected = sum(p.numel() for p in module.parameters())
    return _number(answer, expected, f"число параметров {type(module).__name__}")


def macs(answer, module: nn.Module, input_shape: tuple[int, ...]) -> Verdict:
    """Multiply-adds of one forward pass of ``module`` (``lecture21.measure.macs``)."""
    from lecture21 import measure

    return _number(answer, measure.macs(module, input_shape),
                   f"умножения-сложения {type(module).__name__} на входе {tuple(input_shape)}")


def receptive_field(answer, model: nn.Module, layer: str) -> Verdict:
    """The theoretical receptive field (side, in input pixels) of ``layer`` of ``model``."""
    from lecture21 import interpret

    return _number(answer, interpret.receptive_field(model, layer).size,
                   f"рецептивное поле слоя {layer}")


def spectrogram_frames(answer, samples: int, sample_rate: int = 8000) -> Verdict:
    """How many time frames the book's log-mel spectrogram has for ``samples`` samples."""
    from lecture21 import audio

    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive int, got {samples!r}")
    frames = audio.log_mel_spectrogram(torch.zeros(samples), sample_rate).shape[-1]
    return _number(answer, frames, f"число кадров спектрограммы для {samples} отсчётов")
