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
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path / "d"))
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "c"))
    assert config.data_dir() == tmp_path / "d"
    assert config.cache_dir() == tmp_path / "c" and (tmp_path / "c").is_dir()
    monkeypatch.delenv(config.DATA_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert config.data_dir() == tmp_path / "xdg" / "lecture21" / "data"


def test_describe_run_names_profile_device_data_and_versions(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "smoke")
    text = config.describe_run("CIFAR-10 (тест)")
    for needle in ("Профиль: smoke", "Устройство:", "Данные: CIFAR-10 (тест)", "torch ", "timm "):
        assert needle in text
