"""The plumbing of ``benchmarks/gpu_check.py`` (issue 16) on the CPU, with a tiny forced budget."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from lecture21 import data

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.fixture
def gpu_check(monkeypatch):
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("LECTURE21_DEVICE", "cpu")
    monkeypatch.delenv("LECTURE21_PRECISION", raising=False)
    tiny = data.synthetic_data(80, 40)  # no decoding of CIFAR-10 in a unit test
    monkeypatch.setattr(module, "load_cifar10", lambda: tiny)
    monkeypatch.setattr(data, "load_cifar10", lambda: tiny)  # what cifar_speed.py imports
    return module


def test_it_refuses_to_measure_a_cpu_without_force(gpu_check, tmp_path, capsys):
    assert gpu_check.main(["--out", str(tmp_path / "r.json")]) == 2
    assert "no CUDA GPU here" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_bad_arguments_are_clear_errors(gpu_check, tmp_path, capsys):
    assert gpu_check.main(["--force", "--precisions", "fp8"]) == 2
    assert "--precisions must name some of ['bf16', 'fp16', 'fp32']" in capsys.readouterr().err
    assert gpu_check.main(["--force", "--models", "resnet50"]) == 2
    assert "no image run of model(s) ['resnet50']" in capsys.readouterr().err


def test_forced_tiny_run_trains_every_precision_and_calls_cifar_speed(gpu_check, tmp_path):
    out = tmp_path / "report.json"
    assert gpu_check.main(["--force", "--models", "lenet5", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["tiny"] and report["machine"]["device"] == "cpu"
    runs = report["runs"]
    assert [r["precision"] for r in runs] == ["bf16", "fp16", "fp32"]
    for row in runs:
        assert row["model"] == "lenet5" and row["epochs"] == 1 and row["batch_size"] == 32
        assert row["finite"] and row["images_per_s"] > 0 and 0 <= row["test_acc"] <= 1
        assert row["t4_estimate_s"] > 0
    # the 16-bit branches really ran in 16 bits: their losses differ from float32's, a little
    assert runs[1]["loss"] != runs[2]["loss"]
    assert runs[1]["loss"] == pytest.approx(runs[2]["loss"], abs=0.05)
    speed = report["cifar_speed"]
    assert speed["exit_code"] == 0 and speed["device"] == "cpu"
    assert {r["model"] for r in speed["results"]} >= {"resnet9", "resnet18"}
    assert speed["train_size"] == gpu_check.TINY_CIFAR_SPEED["train_size"]


def test_the_runs_are_the_notebooks_image_trainings(gpu_check):
    models = [r.model for r in gpu_check.selected_runs(None)]
    for name in ("simple_cnn", "resnet9", "lenet5", "alexnet", "zfnet", "vgg11", "vgg16",
                 "googlenet"):
        assert name in models
    assert "text_cnn" not in models and "audio_cnn" not in models
    assert torch.device(gpu_check.get_device()).type == "cpu"
