"""The precision per device (issue 16): the choice, its override, and fp16 + GradScaler on the CPU.

The GPU branches are tested by patching the capability query; the float16 training path runs on
the CPU through CPU autocast (float16 is supported there in torch 2.14), with a real
``torch.amp.GradScaler("cpu")``.
"""

import pytest
import torch
from torch import nn

from lecture21 import data, models
from lecture21.config import seed_everything
from lecture21.train import HyperParams, fit, load_checkpoint
from lecture21.train import precision as prec


@pytest.fixture
def gpu(monkeypatch):
    """Pretend to run on a CUDA GPU of a given compute capability (no ROCm)."""
    monkeypatch.delenv(prec.PRECISION_ENV, raising=False)
    monkeypatch.setattr(torch.version, "hip", None)

    def with_capability(major: int, minor: int) -> torch.device:
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (major, minor))
        return torch.device("cuda")

    return with_capability


@pytest.mark.parametrize("capability, name", [((9, 0), "bf16"), ((8, 0), "bf16"),
                                              ((8, 6), "bf16"), ((7, 5), "fp16"),
                                              ((7, 0), "fp16"), ((6, 1), "fp16")])
def test_auto_on_cuda_is_bf16_from_ampere_and_fp16_before(gpu, capability, name):
    chosen = prec.choose_precision(gpu(*capability))
    assert chosen.name == name
    assert chosen.needs_scaler is (name == "fp16")
    assert chosen.autocast_dtype is {"bf16": torch.bfloat16, "fp16": torch.float16}[name]


def test_a_t4_is_not_fooled_by_emulated_bf16(gpu, monkeypatch):
    # torch.cuda.is_bf16_supported() says True on a T4 (emulation): the choice must not use it.
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert prec.choose_precision(gpu(7, 5)).name == "fp16"


@pytest.mark.parametrize("device", ["cpu", "mps"])
def test_auto_is_fp32_on_cpu_and_mps(monkeypatch, device):
    monkeypatch.delenv(prec.PRECISION_ENV, raising=False)
    chosen = prec.choose_precision(device)
    assert chosen == prec.Precision("fp32", None, needs_scaler=False)


def test_override_by_argument_and_environment(gpu, monkeypatch):
    device = gpu(8, 0)
    assert prec.choose_precision(device, "fp32").name == "fp32"
    monkeypatch.setenv(prec.PRECISION_ENV, " FP16 ")
    assert prec.choose_precision(device).name == "fp16"
    assert prec.choose_precision("cpu").name == "fp16"  # forced on the CPU: emulated
    assert prec.choose_precision(device, "auto").name == "bf16"  # the argument wins
    assert prec.choose_precision(device, prec.PRECISIONS["fp32"]).name == "fp32"


def test_bad_precision_names_are_clear_errors(gpu, monkeypatch):
    with pytest.raises(ValueError, match=r"precision must be one of .*'half'"):
        prec.choose_precision("cpu", "half")
    monkeypatch.setenv(prec.PRECISION_ENV, "tf32")
    with pytest.raises(ValueError, match=r"\$LECTURE21_PRECISION.*'tf32'"):
        prec.choose_precision("cpu")
    monkeypatch.delenv(prec.PRECISION_ENV)
    with pytest.raises(ValueError, match=r"'bf16' needs .*capability >= 8.0.* has 7.5"):
        prec.choose_precision(gpu(7, 5), "bf16")


def test_autocast_and_scaler_follow_the_precision():
    x, w = torch.randn(2, 3), torch.randn(4, 3)
    with prec.autocast("cpu", "fp32"):
        assert not torch.is_autocast_enabled("cpu")
        assert (x @ w.T).dtype == torch.float32
    for name, dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
        with prec.autocast("cpu", name):
            assert (x @ w.T).dtype == dtype
    assert prec.make_scaler("cpu", "fp16").is_enabled()
    assert not prec.make_scaler("cpu", "fp32").is_enabled()
    assert not prec.make_scaler("cpu", "bf16").is_enabled()


def _small_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10),
    )


def _batch():
    generator = torch.Generator().manual_seed(0)
    return torch.randn(64, 3, 16, 16, generator=generator), torch.randint(0, 10, (64,),
                                                                          generator=generator)


def _losses(precision: str, steps: int = 10) -> list[float]:
    """Per-step losses of SGD with Nesterov momentum, written like the engine's step."""
    x, y = _batch()
    model = _small_cnn()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9, nesterov=True)
    scaler = prec.make_scaler("cpu", precision)
    losses = []
    for step in range(steps):
        part = slice(32 * (step % 2), 32 * (step % 2 + 1))
        with prec.autocast("cpu", precision):
            logits = model(x[part])
        loss = nn.functional.cross_entropy(logits.float(), y[part])
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        losses.append(loss.item())
    assert scaler.is_enabled() is (precision == "fp16")
    return losses


def test_fp16_with_grad_scaler_follows_the_fp32_loss_trajectory():
    fp32, fp16 = _losses("fp32"), _losses("fp16")
    assert fp16 != fp32  # float16 really ran
    assert fp32[-1] < fp32[0] - 0.03  # and the model learns
    assert fp16 == pytest.approx(fp32, abs=2e-3)


def test_the_scaler_keeps_float16_gradients_from_underflowing():
    x, y = _batch()

    def first_layer_gradient(precision: str, scale: bool) -> torch.Tensor:
        model = _small_cnn()
        scaler = torch.amp.GradScaler("cpu", enabled=scale)
        with prec.autocast("cpu", precision):
            logits = model(x[:32])
        scaler.scale(1e-5 * nn.functional.cross_entropy(logits.float(), y[:32])).backward()
        scaler.unscale_(torch.optim.SGD(model.parameters(), lr=0.1))
        return model[0].weight.grad

    reference = first_layer_gradient("fp32", scale=False)
    unscaled = first_layer_gradient("fp16", scale=False)
    scaled = first_layer_gradient("fp16", scale=True)
    assert reference.abs().min() > 0
    assert (unscaled == 0).all()  # every gradient flushed to zero in float16
    assert (scaled - reference).norm() / reference.norm() < 0.1


def test_fit_trains_in_fp16_with_a_scaler_and_checkpoints_it(tmp_path, monkeypatch):
    monkeypatch.delenv(prec.PRECISION_ENV, raising=False)
    images = data.synthetic_data(128, 64)
    hp = HyperParams(epochs=2, batch_size=32, lr=0.05, tta_flip=False)
    histories = {}
    for name in ("fp32", "fp16"):
        seed_everything(0)
        model = models.create("simple_cnn", num_classes=10, widths=(8, 16))
        result = fit(model, images, hp, device="cpu", progress=False, precision=name,
                     checkpoint_path=tmp_path / f"{name}.pt")
        histories[name] = [row["loss"] for row in result.history]
    assert histories["fp16"] != histories["fp32"]
    assert histories["fp16"] == pytest.approx(histories["fp32"], abs=2e-3)
    assert load_checkpoint(tmp_path / "fp16.pt")["scaler"]["scale"] > 1
    assert load_checkpoint(tmp_path / "fp32.pt")["scaler"] == {}


def test_command_line_takes_a_precision(monkeypatch, capsys):
    import lecture21.data
    from lecture21.train import main

    monkeypatch.delenv(prec.PRECISION_ENV, raising=False)
    assert main(["lenet5", "--device", "cpu", "--precision", "half"]) == 2
    assert "precision must be one of" in capsys.readouterr().err
    monkeypatch.setattr(lecture21.data, "load_cifar10", lambda: data.synthetic_data(40, 20))
    assert main(["lenet5", "--profile", "smoke", "--epochs", "1", "--batch-size", "16",
                 "--device", "cpu", "--precision", "fp16", "--no-progress"]) == 0
    assert "device=cpu profile=smoke precision=fp16 " in capsys.readouterr().out
