"""The training engine: augmentation, schedule, resumption, caching, bad input, learning."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from lecture21.config import get_profile
from lecture21.data import MEAN, ImageData
from lecture21.train import (
    HyperParams,
    Recipe,
    TensorData,
    augment_batch,
    draw_params,
    evaluate,
    fit,
    load_checkpoint,
    pad,
    predict,
    random_crop,
    train_or_load,
)
from lecture21.train.cli import main
from lecture21.train.loop import _lr_factor, _param_groups

torch.set_num_threads(1)


def random_images(n: int, classes: int = 3, seed: int = 0, size: int = 16) -> ImageData:
    g = torch.Generator().manual_seed(seed)
    return ImageData(
        train_x=torch.randint(0, 256, (n, size, size, 3), dtype=torch.uint8, generator=g),
        train_y=torch.randint(0, classes, (n,), generator=g),
        test_x=torch.randint(0, 256, (n // 2, size, size, 3), dtype=torch.uint8, generator=g),
        test_y=torch.randint(0, classes, (n // 2,), generator=g),
        classes=tuple(f"c{i}" for i in range(classes)),
        source="random test images",
    )


def separable_images(n: int = 128, seed: int = 0) -> ImageData:
    """Class 1 has a bright vertical bar in the middle, class 0 does not; noise elsewhere."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    images = torch.randint(0, 120, (n, 16, 16, 3), dtype=torch.uint8, generator=g)
    images[labels == 1, :, 6:10, :] = 255
    return ImageData(images, labels, images[:16].clone(), labels[:16].clone(), ("no", "bar"),
                     source="bars")


def tiny_cnn(classes: int = 3, dropout: float = 0.2) -> nn.Module:
    """Two layers: a convolution and a linear classifier (with BN and dropout to test state)."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Dropout(dropout), nn.Linear(32, classes),
    )


# --- augmentation -----------------------------------------------------------------------------

def test_augmentation_shapes_dtype_and_determinism():
    images = random_images(20).train_x
    padded = pad(images, 4)
    assert padded.shape == (20, 24, 24, 3) and padded.dtype == torch.uint8

    def run(seed: int) -> torch.Tensor:
        params = draw_params(20, 16, 4, True, 6, torch.Generator().manual_seed(seed))
        return augment_batch(padded, params, size=16, cutout_length=6)

    first, again, other = run(1), run(1), run(2)
    assert first.shape == images.shape and first.dtype == torch.uint8
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_crop_offsets_flip_and_cutout_are_exact():
    images = random_images(6).train_x
    padded = pad(images, 4)
    centre = torch.full((6,), 4)
    assert torch.equal(random_crop(padded, centre, centre, 16), images)
    # an offset of 0 shows 4 rows/columns of zero padding, then the image shifted by 4
    shifted = random_crop(padded, torch.zeros(6, dtype=torch.long), centre, 16)
    assert (shifted[:, :, :4] == 0).all() and torch.equal(shifted[:, :, 4:], images[:, :, :12])
    params = draw_params(6, 16, 0, True, 4, torch.Generator().manual_seed(0))
    out = augment_batch(images, params, 16, cutout_length=0)
    for i in range(6):
        expected = images[i].flip(1) if params.flip[i] else images[i]
        assert torch.equal(out[i], expected)
    cut = augment_batch(images, params.__class__(params.dx, params.dy, params.flip * False,
                                                  torch.full((6,), 8), torch.full((6,), 8)),
                        16, cutout_length=4)
    fill = torch.tensor([round(m * 255) for m in MEAN], dtype=torch.uint8)
    assert (cut[:, 6:10, 6:10] == fill).all()
    assert torch.equal(cut[:, :6], images[:, :6]) and torch.equal(cut[:, 10:], images[:, 10:])


# --- hyperparameters and schedule ---------------------------------------------------------------

def test_schedule_warms_up_then_decays_to_zero():
    total, warmup = 100, 20
    factors = [_lr_factor(s, total=total, warmup=warmup, decay="linear") for s in range(total)]
    assert factors[warmup - 1] == pytest.approx(1.0) and factors[0] == pytest.approx(1 / warmup)
    assert all(a <= b for a, b in zip(factors[:warmup], factors[1:warmup], strict=False))
    assert all(a >= b for a, b in zip(factors[warmup:], factors[warmup + 1:], strict=False))
    assert factors[-1] < 0.02
    cosine = [_lr_factor(s, total=total, warmup=0, decay="cosine") for s in range(total)]
    assert cosine[0] == pytest.approx(1.0) and cosine[50] == pytest.approx(0.5, abs=0.02)


def test_no_weight_decay_on_norms_and_biases():
    decay, no_decay = _param_groups(tiny_cnn(), 5e-4)
    assert all(p.ndim > 1 for p in decay["params"]) and len(decay["params"]) == 2
    assert all(p.ndim == 1 for p in no_decay["params"]) and no_decay["weight_decay"] == 0
    assert len(no_decay["params"]) == 4  # conv bias, BN weight and bias, linear bias


def test_hyperparams_per_profile_and_recipe():
    smoke = HyperParams.for_profile("smoke")
    assert (smoke.epochs, smoke.batch_size) == (1, get_profile("smoke").batch_size)
    full = HyperParams.for_profile("full", recipe="resnet9")
    assert (full.batch_size, full.lr) == (512, pytest.approx(0.4))
    scaled = HyperParams.for_profile("smoke", recipe="resnet9")  # batch 128: lr scaled by 1/4
    assert scaled.lr == pytest.approx(0.4 * 128 / 512)
    assert HyperParams.for_profile("smoke", recipe="resnet9", lr=0.3).lr == 0.3
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        HyperParams.for_profile("smoke", learning_rate=0.1)


# --- training ------------------------------------------------------------------------------------

def test_two_layer_cnn_reaches_full_train_accuracy():
    data = separable_images()
    hp = HyperParams(epochs=8, batch_size=32, lr=0.1, crop_padding=0, flip=False,
                     label_smoothing=0.0, tta_flip=False)
    torch.manual_seed(0)
    result = fit(tiny_cnn(2, dropout=0.0), data, hp, device="cpu", progress=False)
    assert evaluate(result.model, data.train_x, data.train_y) == 1.0
    assert result.history[-1]["train_acc"] > 0.9 and result.history[0]["loss"] > 0.3
    assert [r["epoch"] for r in result.history] == list(range(1, 9))
    assert result.history[-1]["lr"] < result.history[1]["lr"]  # decayed
    assert not result.model.training and result.images_per_s > 0


def test_tensor_data_trains_without_augmentation():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 5, generator=g)
    y = (x[:, 0] > 0).long()
    data = TensorData(x, y, x[:50], y[:50], ("neg", "pos"), source="vectors")
    hp = HyperParams(epochs=10, batch_size=50, lr=0.5, label_smoothing=0.0)
    result = fit(nn.Linear(5, 2), data, hp, device="cpu", progress=False)
    assert result.test_accuracy >= 0.95
    with pytest.raises(ValueError, match="tta_flip needs"):
        predict(result.model, x, tta_flip=True)


def test_predict_gives_the_same_logits_in_any_batch_size():
    data = random_images(10)
    model = tiny_cnn().eval()
    default = predict(model, data.train_x)  # 128 per batch on the CPU
    assert torch.allclose(predict(model, data.train_x, batch_size=3), default, atol=1e-5)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        predict(model, data.train_x, batch_size=0)


def test_flip_tta_averages_the_mirror_image():
    data = random_images(8)
    model = tiny_cnn().eval()
    logits = predict(model, data.train_x, tta_flip=True)
    plain = predict(model, data.train_x)
    mirrored = predict(model, data.train_x.flip(2))
    assert torch.allclose(logits, (plain + mirrored) / 2, atol=1e-5)
    accuracy = evaluate(model, data.train_x, data.train_y)
    assert accuracy == (plain.argmax(1) == data.train_y).float().mean().item()


def test_resume_after_interruption_equals_uninterrupted_run(tmp_path):
    data = random_images(96)
    hp = HyperParams(epochs=3, batch_size=32, lr=0.05, cutout=4, seed=3)

    torch.manual_seed(0)
    straight = fit(tiny_cnn(), data, hp, device="cpu", progress=False,
                   checkpoint_path=tmp_path / "straight.pt")

    class Interrupt(Exception):
        pass

    def stop_after_first(row: dict) -> None:
        if row["epoch"] == 1:
            raise Interrupt

    path = tmp_path / "interrupted.pt"
    torch.manual_seed(0)
    with pytest.raises(Interrupt):
        fit(tiny_cnn(), data, hp, device="cpu", progress=False, checkpoint_path=path,
            callback=stop_after_first)
    assert load_checkpoint(path)["epoch"] == 1
    torch.manual_seed(123)  # other initial weights: all must come from the checkpoint
    resumed = fit(tiny_cnn(), data, hp, device="cpu", progress=False, checkpoint_path=path)
    assert not resumed.loaded
    for (name, a), (_, b) in zip(straight.model.state_dict().items(),
                                 resumed.model.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    keys = ("loss", "train_acc", "test_acc", "lr")
    assert [[r[k] for k in keys] for r in straight.history] == \
        [[r[k] for k in keys] for r in resumed.history]
    # a finished checkpoint is loaded, not trained again
    again = fit(tiny_cnn(), data, hp, device="cpu", progress=False, checkpoint_path=path)
    assert again.loaded and again.history == resumed.history


def test_train_or_load_returns_the_cached_run(tmp_path, monkeypatch):
    monkeypatch.setenv("LECTURE21_CACHE", str(tmp_path))
    monkeypatch.setenv("LECTURE21_PROFILE", "smoke")
    data = random_images(64, classes=10, size=32)
    hp = HyperParams(epochs=1, batch_size=32)
    options = {"widths": (4, 8), "hidden": 16}
    first = train_or_load("simple_cnn", data, hp, device="cpu", progress=False,
                          options=options)
    second = train_or_load("simple_cnn", data, hp, device="cpu", progress=False,
                          options=options)
    assert not first.loaded and second.loaded
    assert second.history == first.history and second.train_time_s == first.train_time_s
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
    assert len(list((tmp_path / "runs").glob("simple_cnn-cifar-smoke-*.pt"))) == 1
    other = train_or_load("simple_cnn", data, hp.replace(lr=0.01), device="cpu",
                          progress=False, options=options)
    assert not other.loaded
    assert len(list((tmp_path / "runs").glob("*.pt"))) == 2


def test_a_recipe_sets_the_subset_epochs_and_options_of_a_profile(tmp_path, monkeypatch):
    monkeypatch.setenv("LECTURE21_CACHE", str(tmp_path))
    monkeypatch.setenv("LECTURE21_PROFILE", "smoke")
    recipe = Recipe(lr=0.2, lr_batch_size=64, hp={"label_smoothing": 0.0}, options={"hidden": 16},
                    profiles={"smoke": {"train_size": 40, "epochs": 2,
                                        "options": {"widths": (4, 8)}}})
    run = train_or_load("simple_cnn", random_images(64, classes=10, size=32), recipe=recipe,
                        options={"hidden": 8}, device="cpu", progress=False)
    assert run.extra["train_size"] == 40 and run.epochs == 2
    assert run.extra["options"] == {"hidden": 8, "widths": (4, 8)}  # the caller's win
    assert run.hp.lr == pytest.approx(0.2 * get_profile("smoke").batch_size / 64)
    assert run.hp.label_smoothing == 0.0
    with pytest.raises(ValueError, match="unknown key"):
        Recipe(profiles={"quick": {"learning_rate": 1}})


# --- bad input ---------------------------------------------------------------------------------

def test_bad_input_is_refused_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("LECTURE21_CACHE", str(tmp_path))
    data = random_images(16)
    hp = HyperParams(epochs=1, batch_size=8)
    with pytest.raises(ValueError, match="unknown model name 'resnet1000'"):
        train_or_load("resnet1000", data, hp, progress=False)
    with pytest.raises(ValueError, match="uint8"):
        ImageData(data.train_x.float(), data.train_y, data.test_x,
                  data.test_y, data.classes, source="float")
    with pytest.raises(ValueError, match=r"shape \(N, H, W, 3\)"):
        ImageData(data.train_x.permute(0, 3, 1, 2).contiguous(), data.train_y,
                  data.test_x, data.test_y, data.classes, source="NCHW")
    with pytest.raises(ValueError, match=r"shape \(N, H, W, 3\)"):
        predict(tiny_cnn(), data.train_x.permute(0, 3, 1, 2).contiguous())
    with pytest.raises(ValueError, match=r"must lie in \[0, 3\)"):
        ImageData(data.train_x, data.train_y + 3, data.test_x, data.test_y,
                  data.classes, source="labels")
    with pytest.raises(ValueError, match=r"must lie in \[0, 2\)"):
        TensorData(torch.zeros(4, 2), torch.tensor([0, 1, 2, 0]), torch.zeros(1, 2),
                   torch.tensor([0]), ("a", "b"))
    with pytest.raises(ValueError, match="empty"):
        ImageData(data.train_x[:0], data.train_y[:0], data.test_x,
                  data.test_y, data.classes, source="empty")
    with pytest.raises(ValueError, match="empty"):
        TensorData(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long), torch.zeros(1, 2),
                   torch.tensor([0]), ("a", "b"))
    with pytest.raises(ValueError, match="data must be a lecture21.data.Dataset"):
        fit(tiny_cnn(), (data.train_x, data.train_y), hp, progress=False)
    with pytest.raises(ValueError, match="outputs 5 logits but the data have 3 classes"):
        fit(tiny_cnn(5), data, hp, device="cpu", progress=False)
    with pytest.raises(ValueError, match="cannot take this data's inputs"):
        fit(nn.Linear(5, 3), data, hp, device="cpu", progress=False)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        HyperParams(batch_size=0)
    path = tmp_path / "run.pt"
    fit(tiny_cnn(), data, hp, device="cpu", progress=False, checkpoint_path=path)
    other = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(4, 3))
    with pytest.raises(ValueError, match="another architecture"):
        fit(other, data, hp, device="cpu", progress=False, checkpoint_path=path)
    with pytest.raises(ValueError, match="other hyperparameters \\(lr\\)"):
        fit(tiny_cnn(), data, hp.replace(lr=0.2), device="cpu", progress=False,
            checkpoint_path=path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot be read"):
        load_checkpoint(path)


def test_command_line_refuses_unknown_model(capsys):
    assert main(["no_such_model", "--profile", "smoke"]) == 2
    assert "unknown model name" in capsys.readouterr().err


def test_learning_curves_draw_the_history():
    import matplotlib

    matplotlib.use("Agg")
    from lecture21.plots import compare_runs, learning_curves

    history = [{"epoch": e, "loss": 2 / e, "train_acc": 0.2 * e, "test_acc": None if e == 2
                else 0.15 * e, "lr": 0.1 / e, "images_per_s": 100.0, "wall_time": float(e)}
               for e in range(1, 5)]
    fig = learning_curves(history, "тест")
    assert len(fig.axes) == 3
    assert len(fig.axes[1].lines[1].get_xdata()) == 3  # the epoch without a test is skipped
    assert len(compare_runs({"a": history}).axes[0].lines) == 1
    with pytest.raises(ValueError, match="empty"):
        learning_curves([])
    with pytest.raises(ValueError, match="missing"):
        learning_curves([{"epoch": 1}])


def test_command_line_trains_and_prints_one_results_line(tmp_path, monkeypatch, capsys):
    import lecture21.data

    monkeypatch.setattr(lecture21.data, "load_cifar10", lambda: random_images(40, 10, size=32))
    argv = ["simple_cnn", "--profile", "smoke", "--epochs", "2", "--batch-size", "16",
            "--no-progress", "--out", str(tmp_path)]
    assert main(argv) == 0
    line = capsys.readouterr().out.strip()
    # simple_cnn's weights and biases, layer by layer: two 3x3 conv blocks (32, 64 channels),
    # then 64 maps of 8x8 -> 512 -> 10.
    params = ((3 * 9 + 1) * 32 + (32 * 9 + 1) * 32 + (32 * 9 + 1) * 64 + (64 * 9 + 1) * 64
              + (64 * 8 * 8 + 1) * 512 + (512 + 1) * 10)
    for field in ("model=simple_cnn", f"params={params:,}", "epochs=2", "wall=", "images/s=",
                  "test_acc=", "device=cpu", "profile=smoke", "precision=fp32", "train_images=40"):
        assert field in line, (field, line)
    record = json.loads((tmp_path / "results.json").read_text())
    assert record["line"] == line and len(record["history"]) == 2
    assert (tmp_path / "simple_cnn-smoke.pt").exists()


def test_benchmark_helpers(tmp_path):
    """The benchmark (not itself a test) parses airbench's table and writes files it reads."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "benchmarks" / "cifar_speed.py"
    spec = importlib.util.spec_from_file_location("cifar_speed", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    printed = "\n".join([
        "| run | epoch | train_loss | train_acc | val_acc | tta_val_acc | total_time_seconds |",
        "| 0 | 0 | 2.2683 | 0.1797 | 0.1016 | | 16.8058 |",
        "| | 1 | 2.0000 | 0.2000 | 0.2500 | | 20.0000 |",
        "| | eval | 2.2683 | 0.1797 | 0.1016 | 0.0977 | 27.0419 |",
    ])
    rows = bench._parse_airbench_rows(printed)
    assert [r[1] for r in rows] == ["0", "1", "eval"] and rows[-1][5] == "0.0977"
    history = [{"test_acc": 0.4, "wall_time": 1.0}, {"test_acc": None, "wall_time": 2.0},
               {"test_acc": 0.6, "wall_time": 3.0}]
    assert bench.time_to(0.5, history) == 3.0 and bench.time_to(0.7, history) is None
    data = random_images(6, 10, size=32)
    bench.write_airbench_files(data, tmp_path)
    pytest.importorskip("airbench")
    with bench._airbench_on_cpu() as loader_class:
        loader = loader_class(str(tmp_path / "cifar10"), train=False, batch_size=3)
    assert torch.equal(loader.labels, data.test_y)
    expected = data.test_x.permute(0, 3, 1, 2).float() / 255
    assert torch.allclose(loader.images, expected, atol=1e-3)  # airbench stores them in fp16


def test_diverged_run_raises_and_caches_nothing(tmp_path, monkeypatch):
    """Issue 11, item 3: lr 1e9 used to end with rc 0 and a NaN loss, and be cached."""
    from lecture21.train import TrainingDiverged

    monkeypatch.setenv("LECTURE21_CACHE", str(tmp_path))
    monkeypatch.setenv("LECTURE21_PROFILE", "smoke")
    hp = HyperParams(epochs=2, batch_size=16, lr=1e9, warmup_fraction=0.0)
    with pytest.raises(TrainingDiverged, match=r"not finite .* at epoch 1, step \d+, learning "
                                                r"rate [0-9.]+e\+0[89].*lower the learning rate"):
        train_or_load("simple_cnn", random_images(48, classes=10, size=32), hp, device="cpu",
                      progress=False, options={"widths": (4, 8), "hidden": 8})
    assert not list(tmp_path.rglob("*.pt")), "a diverged run was cached"
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").rglob("*.json"))


def test_nan_input_stops_the_run_with_its_checkpoint_removed(tmp_path):
    data = TensorData(torch.full((16, 4), float("nan")), torch.zeros(16, dtype=torch.int64),
                      torch.zeros(4, 4), torch.zeros(4, dtype=torch.int64), ("a", "b"))
    path = tmp_path / "run.pt"
    with pytest.raises(RuntimeError, match="epoch 1, step 1.*NaN"):
        fit(nn.Linear(4, 2), data, HyperParams(epochs=1, batch_size=8), device="cpu",
            progress=False, checkpoint_path=path)
    assert not path.exists()


def test_a_swapped_cached_run_is_refused(tmp_path, monkeypatch):
    """Issue 11, item 7: a run trained with other options, copied over the cached file, used to
    be returned as loaded=True."""
    monkeypatch.setenv("LECTURE21_CACHE", str(tmp_path))
    monkeypatch.setenv("LECTURE21_PROFILE", "smoke")
    data, hp = random_images(40, classes=10, size=32), HyperParams(epochs=1, batch_size=16)
    options = {"widths": (4, 8), "hidden": 8}
    runs = [train_or_load("simple_cnn", data, run_hp, device="cpu", progress=False,
                          options=options).checkpoint_path
            for run_hp in (hp, hp.replace(lr=0.01))]  # the same architecture, another run
    runs[0].write_bytes(runs[1].read_bytes())
    with pytest.raises(ValueError, match="belongs to another run.*delete it"):
        train_or_load("simple_cnn", data, hp, device="cpu", progress=False, options=options)


def _one_error_line(capsys) -> str:
    """The CLI's stderr: exactly one line ``error: ...`` and no traceback."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("bad", ["file", "below-a-file", "unwritable", "device-meta",
                                 "missing-data-folder", "cache-is-a-file"])
def test_command_line_refuses_bad_paths_before_training(tmp_path, monkeypatch, capsys, bad):
    """Issue 11, items 4 and 7: each used to be a traceback, some after a full epoch."""
    import lecture21.data
    import lecture21.train

    monkeypatch.setattr(lecture21.train, "fit", lambda *a, **k: pytest.fail("trained"))
    (tmp_path / "a-file").write_text("x")
    out = {"file": tmp_path / "a-file", "below-a-file": tmp_path / "a-file" / "run",
           "unwritable": "/proc/lecture21-run"}.get(bad, tmp_path / "out")
    if bad in ("file", "below-a-file", "unwritable", "device-meta"):
        monkeypatch.setattr(lecture21.data, "load_cifar10", lambda: pytest.fail("data read"))
    monkeypatch.setenv("LECTURE21_DEVICE", "meta" if bad == "device-meta" else "cpu")
    monkeypatch.setenv("LECTURE21_DATA", str(tmp_path / (
        "no-such-folder" if bad == "missing-data-folder" else "")))
    monkeypatch.setenv("LECTURE21_CACHE", str(tmp_path / (
        "a-file" if bad == "cache-is-a-file" else "cache")))
    argv = ["simple_cnn", "--profile", "smoke", "--no-progress", "--out", str(out)]
    assert main(argv) == 2
    line = _one_error_line(capsys)
    expected = {"file": "--out must be a folder", "below-a-file": "not a writable folder",
                "unwritable": "not a writable folder", "device-meta": "device must be",
                "missing-data-folder": "LECTURE21_DATA must be an existing folder",
                "cache-is-a-file": "LECTURE21_CACHE must be a folder"}[bad]
    assert expected in line, line


def test_command_line_resumes_says_so_and_refuses_other_settings(tmp_path, monkeypatch, capsys):
    import lecture21.data
    import lecture21.train

    monkeypatch.setattr(lecture21.data, "load_cifar10", lambda: random_images(40, 10, size=32))
    argv = ["simple_cnn", "--profile", "smoke", "--epochs", "2", "--batch-size", "16",
            "--device", "cpu", "--no-progress", "--out", str(tmp_path)]
    fit_for_real = lecture21.train.fit

    def interrupted(*args, **kwargs):
        def stop(row):
            raise KeyboardInterrupt
        return fit_for_real(*args, **kwargs, callback=stop)

    monkeypatch.setattr(lecture21.train, "fit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        main(argv)
    monkeypatch.setattr(lecture21.train, "fit", fit_for_real)
    assert main(argv) == 0
    assert "resumed from epoch 1" in capsys.readouterr().err
    monkeypatch.setattr(lecture21.train, "fit", lambda *a, **k: pytest.fail("trained"))
    assert main([*argv, "--epochs", "3"]) == 2
    line = _one_error_line(capsys)
    assert "other settings (epochs)" in line and "--out" in line
    assert "checkpoint_path" not in line


def test_command_line_diverged_run_is_one_line_and_keeps_nothing(tmp_path, monkeypatch, capsys):
    import lecture21.data

    monkeypatch.setattr(lecture21.data, "load_cifar10", lambda: random_images(40, 10, size=32))
    argv = ["simple_cnn", "--profile", "smoke", "--epochs", "1", "--batch-size", "16",
            "--lr", "1e9", "--device", "cpu", "--no-progress", "--out", str(tmp_path)]
    assert main(argv) == 1
    assert "training diverged" in _one_error_line(capsys)
    assert not list(tmp_path.iterdir())


def test_the_command_line_process_prints_no_traceback(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "LECTURE21_DEVICE": "meta", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "lecture21.train", "simple_cnn"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("error: device must be")
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
