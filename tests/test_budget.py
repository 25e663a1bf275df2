"""Training-time estimates per device (issue 16): the arithmetic, and the runs it is applied to."""

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from lecture21 import budget, config

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_training_is_three_forward_passes_of_two_flops_per_mac():
    assert budget.training_flops(1e6, 50_000, 20) == 6 * 1e6 * 50_000 * 20
    assert budget.evaluation_flops(1e6, 10_000, passes=2) == 2 * 1e6 * 10_000 * 2
    with pytest.raises(ValueError, match="examples must be a non-negative number"):
        budget.training_flops(1e6, -1, 1)


def test_estimate_divides_by_the_t4_datasheet_peak_times_utilisation():
    one_second_fp16 = 65e12 * budget.DEFAULT_UTILISATION
    assert budget.estimate_seconds(one_second_fp16) == pytest.approx(1.0)
    assert budget.estimate_seconds(8.1e12, precision="fp32", utilisation=1.0) == pytest.approx(1)
    assert budget.estimate_seconds(1e15, precision="fp32") / budget.estimate_seconds(1e15) == (
        pytest.approx(65 / 8.1))
    with pytest.raises(ValueError, match=r"precision must be one of \['fp16', 'fp32'\]"):
        budget.estimate_seconds(1e12, precision="bf16")  # a T4 has no bfloat16 units
    with pytest.raises(ValueError, match="utilisation"):
        budget.estimate_seconds(1e12, utilisation=0)


def test_forward_macs_counts_a_convolution_and_a_linear_layer_by_hand():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(8 * 8 * 8, 10))
    by_hand = (8 * 8 * 8) * (3 * 3 * 3) + 8 * 8 * 8 * 10
    assert budget.forward_macs(model, torch.zeros(1, 3, 10, 10)) == by_hand
    assert model.training  # the mode is restored


def test_notebook_budgets_of_lenet5_by_hand():
    run = budget.NotebookRun("04", "lenet5", epochs=2, train_examples=1000, test_examples=100)
    [row] = budget.notebook_budgets((run,), utilisation=0.5)
    macs = budget.forward_macs(run.create(), run.example())
    assert row["macs"] == macs > 0
    flops = 6 * macs * 1000 * 2 + 2 * macs * 100 * 2 * 2  # two epochs, flip TTA
    assert row["flops"] == flops
    assert row["seconds"] == pytest.approx(flops / (65e12 * 0.5))


@pytest.mark.parametrize("run", budget.FULL_RUNS, ids=lambda r: f"{r.notebook}-{r.label}")
def test_every_listed_run_is_a_training_of_its_notebook(run):
    text = (NOTEBOOKS / f"{run.notebook}.md").read_text(encoding="utf-8")
    assert re.search(rf'train_or_load\(\s*"{run.model}"', text), run
    # the profile's own epochs unless the notebook chooses others for the full profile
    assert run.epochs == config.PROFILES["full"].epochs or f"full={run.epochs})" in text, run
