"""The exercises' check functions: right answers pass, wrong ones fail, and the right answer
comes from an outside reference (the output-size formula of the PyTorch documentation, the
layer's own shapes, librosa's frame count) rather than from the function itself."""

import re
from pathlib import Path

import jupytext
import pytest
import torch
from torch import nn

from lecture21 import exercises


@pytest.mark.parametrize("size, kernel, stride, padding, dilation", [
    (32, 5, 1, 0, 1), (32, 3, 1, 1, 1), (224, 11, 4, 2, 1), (227, 11, 4, 0, 1), (13, 3, 2, 0, 2),
])
def test_conv_output_size_is_the_documented_formula(size, kernel, stride, padding, dilation):
    # torch.nn.Conv1d's documentation: floor((L + 2p - d(k - 1) - 1) / s + 1).
    formula = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    assert exercises.conv_output_size(formula, size, kernel, stride, padding, dilation)
    wrong = exercises.conv_output_size(formula + 1, size, kernel, stride, padding, dilation)
    assert not wrong and "меньше" in repr(wrong)


def test_parameter_count_and_macs_by_hand():
    conv = nn.Conv1d(64, 32, 4)
    assert exercises.parameter_count(32 * (64 * 4 + 1), conv)
    assert not exercises.parameter_count(32 * 64 * 4, conv)  # forgot the biases
    # AlexNet's conv1 as the paper draws it: 96 kernels 11x11x3 at 55x55 positions.
    assert exercises.macs(55 * 55 * 96 * 11 * 11 * 3, nn.Conv2d(3, 96, 11, 4, 2), (1, 3, 224, 224))


def test_receptive_field_of_a_stack_by_the_formula():
    stack = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3), nn.MaxPool2d(2),
                          nn.Conv2d(1, 1, 3))
    # r = 1 + (3-1) + (3-1) + (2-1) + (3-1)*2 = 10
    assert exercises.receptive_field(10, stack, "3")
    assert not exercises.receptive_field(8, stack, "3")


def test_spectrogram_frames_agree_with_librosa():
    librosa = pytest.importorskip("librosa")
    import numpy as np

    frames = librosa.feature.melspectrogram(y=np.zeros(8000, dtype=np.float32), sr=8000,
                                            n_fft=256, hop_length=128, n_mels=32).shape[-1]
    assert exercises.spectrogram_frames(frames, 8000)


def test_numbers_tensors_and_unanswered():
    assert exercises.check_number(0.1, 0.1001, tolerance=0.01)
    assert not exercises.check_number(0.2, 0.1)
    assert exercises.check_number(torch.tensor(3), 3)
    unanswered = exercises.check_number(None, 3, "ответ")
    assert not unanswered and "Впишите" in repr(unanswered)
    x = torch.arange(6.0).view(2, 3)
    assert exercises.check_tensor(x.clone(), x)
    assert not exercises.check_tensor(x.T, x) and not exercises.check_tensor(x + 1, x)
    assert "✓" in exercises.check_tensor(x, x)._repr_markdown_()
    # Every digit of a large count, not 1.18067e+06; decimals as the notebooks print them.
    assert repr(exercises.check_number(1_180_672, 1_180_672)).endswith("= 1,180,672.")
    assert "не 0.5," in repr(exercises.check_number(0.5, 0.25))


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="answer must be a number"):
        exercises.check_number("7", 7)
    with pytest.raises(ValueError, match="kernel must be a positive int"):
        exercises.conv_output_size(1, 32, 0)
    with pytest.raises(ValueError, match="module must be a torch.nn.Module"):
        exercises.parameter_count(1, "conv")
    with pytest.raises(ValueError, match="answer must be a torch.Tensor"):
        exercises.check_tensor([1.0], torch.ones(1))


NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.md"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_have_hidden_solutions_that_run(path):
    """3-5 exercises, each with a dropdown solution whose code cells are collapsed in
    JupyterLab and skipped on slides; labels unique in the book."""
    cells = jupytext.read(path).cells
    labels = [m for c in cells for m in re.findall(r"```\{exercise\}.*\n:label: (\S+)", c.source)]
    assert 3 <= len(labels) <= 5, labels
    assert all(label.startswith(f"ex{path.stem[:2]}-") for label in labels), labels
    for label in labels:
        start = next(i for i, c in enumerate(cells)
                     if f"{{solution-start}} {label}\n:class: dropdown" in c.source)
        end = next(i for i, c in enumerate(cells) if i > start and "{solution-end}" in c.source)
        inside = cells[start:end + 1]
        code = [c for c in inside if c.cell_type == "code"]
        assert code, f"{label}: a solution runs code (CI checks it)"
        for cell in inside:
            assert cell.metadata.get("slideshow", {}).get("slide_type") == "skip", label
        for cell in code:
            assert cell.metadata.get("jupyter", {}).get("source_hidden"), label
