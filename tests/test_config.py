import random

import numpy as np
import pytest
import torch

from lecture21 import config


def test_profiles_by_name_and_environment(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "smoke")
    assert config.get_profile().name == "smoke"
    assert config.get_profile("quick").name == "quick"
    monkeypatch.setenv(config.PROFILE_ENV, "FULL")
    assert config.get_profile().name == "full"


def test_auto_profile_follows_cuda(monkeypatch):
    monkeypatch.delenv(config.PROFILE_ENV, raising=False)
    expected = "full" if torch.cuda.is_available() else "quick"
    assert config.get_profile().name == expected
    assert config.get_profile("auto").name == expected


def test_profiles_grow_from_smoke_to_full():
    smoke, quick, full = (config.PROFILES[n] for n in ("smoke", "quick", "full"))
    assert smoke.train_size < quick.train_size and full.train_size is None
    assert smoke.epochs <= quick.epochs <= full.epochs
    assert quick.choose(smoke=1, quick=2, full=3) == 2


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "fast")
    with pytest.raises(ValueError, match="profile must be one of .*'fast'"):
        config.get_profile()


def test_device_selection(monkeypatch):
    monkeypatch.setenv(config.DEVICE_ENV, "cpu")
    assert config.get_device() == torch.device("cpu")
    with pytest.raises(ValueError, match="device must be like"):
        config.get_device("gpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            config.get_device("cuda")


def test_seed_everything_repeats_all_generators():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    config.seed_everything(7)
    first = draw()
    config.seed_everything(7)
    assert draw() == first
    with pytest.raises(ValueError, match="seed"):
        config.seed_everything(-1)


def test_paths_follow_environment(monkeypatch, tmp_path):
    (tmp_path / "d").mkdir()
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path / "d"))
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "c"))
    assert config.data_dir() == tmp_path / "d"
    assert config.cache_dir() == tmp_path / "c" and (tmp_path / "c").is_dir()
    monkeypatch.delenv(config.DATA_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert config.data_dir() == tmp_path / "xdg" / "lecture21" / "data"


def test_bad_folders_and_devices_are_refused_by_name(monkeypatch, tmp_path):
    """Issue 11, item 7: each used to fail deep inside (or to create a mistyped folder)."""
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path / "typo"))
    with pytest.raises(ValueError, match="LECTURE21_DATA must be an existing folder.*not exist"):
        config.data_dir()
    assert not (tmp_path / "typo").exists()
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "file"))
    with pytest.raises(ValueError, match="LECTURE21_CACHE must be a folder.*file"):
        config.cache_dir()
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "file" / "below"))
    with pytest.raises(ValueError, match="cannot be created"):
        config.cache_dir()
    for device in ("meta", "cpu:0x", "xla"):
        monkeypatch.setenv(config.DEVICE_ENV, device)
        with pytest.raises(ValueError, match="device must be"):
            config.get_device()


def test_describe_run_names_profile_device_data_and_versions(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "smoke")
    text = config.describe_run("CIFAR-10 (тест)")
    for needle in ("Профиль: smoke", "Устройство:", "Данные: CIFAR-10 (тест)", "torch ", "timm "):
        assert needle in text


@pytest.fixture
def machine(monkeypatch):
    """Pretend that CUDA (with ``memory_gb`` of memory) and/or Apple's MPS are available."""
    monkeypatch.delenv(config.DEVICE_ENV, raising=False)
    monkeypatch.delenv(config.PROFILE_ENV, raising=False)

    def pretend(cuda: bool, mps: bool, memory_gb: float = 80.0) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
        properties = type("Properties", (), {"total_memory": int(memory_gb * 1e9)})
        monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device=None: properties)

    return pretend


@pytest.mark.parametrize("cuda, mps, expected", [(True, True, "cuda"), (True, False, "cuda"),
                                                 (False, True, "mps"), (False, False, "cpu")])
def test_device_order_is_cuda_then_mps_then_cpu(machine, cuda, mps, expected):
    machine(cuda, mps)
    assert config.get_device().type == expected


def test_device_environment_wins_and_unavailable_devices_are_errors(machine, monkeypatch):
    machine(cuda=True, mps=True)
    monkeypatch.setenv(config.DEVICE_ENV, "cpu")
    assert config.get_device() == torch.device("cpu")
    monkeypatch.setenv(config.DEVICE_ENV, "mps")
    assert config.get_device() == torch.device("mps")
    assert config.get_device("cuda:1") == torch.device("cuda:1")  # the argument wins
    machine(cuda=False, mps=False)
    monkeypatch.delenv(config.DEVICE_ENV)
    with pytest.raises(ValueError, match="'mps' was asked for, but MPS is not available"):
        config.get_device("mps")
    with pytest.raises(ValueError, match="'cuda' was asked for, but CUDA is not available"):
        config.get_device("cuda")


def test_auto_profile_is_quick_on_mps_unless_full_is_asked_for(machine, monkeypatch):
    machine(cuda=False, mps=True)
    assert config.get_profile().name == "quick"
    monkeypatch.setenv(config.PROFILE_ENV, "full")
    assert config.get_profile() == config.PROFILES["full"]


def test_auto_profile_follows_the_chosen_device(machine, monkeypatch):
    machine(cuda=True, mps=False)
    assert config.get_profile() == config.PROFILES["full"]
    monkeypatch.setenv(config.DEVICE_ENV, "cpu")  # a GPU machine told to use its CPU
    assert config.get_profile().name == "quick"


@pytest.mark.parametrize("memory_gb, batch", [(80, 512), (40, 512), (16, 512), (15.8, 256),
                                              (12, 128), (8, 128), (4, 64), (2, 32)])
def test_auto_caps_the_batch_on_a_gpu_under_16_gb(machine, memory_gb, batch):
    machine(cuda=True, mps=False, memory_gb=memory_gb)
    profile = config.get_profile()
    assert (profile.name, profile.batch_size) == ("full", batch)
    assert profile.train_size is None and profile.epochs == config.PROFILES["full"].epochs
    assert (f"пакет {batch}" in profile.description) is (batch != 512)
    assert config.get_profile("full").batch_size == 512  # asked for by name: as it is


def test_batch_size_for_memory_fits_the_largest_model():
    t4 = 15_360 * 2**20  # 15 GiB, as Colab's T4 reports
    assert config.batch_size_for_memory(512, t4) == 256
    assert 256 * config.GPU_BYTES_PER_IMAGE <= 0.5 * t4
    assert config.batch_size_for_memory(64, t4) == 64  # never larger than asked for
    assert config.batch_size_for_memory(512, 10**8) == 16  # floor
    with pytest.raises(ValueError, match="batch_size"):
        config.batch_size_for_memory(0, t4)
    with pytest.raises(ValueError, match="fraction"):
        config.batch_size_for_memory(512, t4, fraction=1.5)


def test_describe_run_names_the_precision_with_the_device(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "smoke")
    monkeypatch.setenv(config.DEVICE_ENV, "cpu")
    monkeypatch.delenv("LECTURE21_PRECISION", raising=False)
    assert "Устройство: cpu, точность: fp32," in config.describe_run()
    monkeypatch.setenv("LECTURE21_PRECISION", "fp16")
    assert "Устройство: cpu, точность: fp16 + GradScaler," in config.describe_run()
