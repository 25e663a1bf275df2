"""`make weights` and the offline rules: files fetched once into the weights folder, read there
with the network forbidden; the network probed once per process; the book's list complete."""

from __future__ import annotations

import random
import re
import threading
from pathlib import Path

import pytest
import torch
import torchvision
from support import forbid_network

from lecture21 import pretrained
from lecture21.models.registry import with_references
from lecture21.pretrained import __main__ as make_weights
from lecture21.pretrained import weights

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture
def folder(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv(pretrained.WEIGHTS_ENV, str(tmp_path / "weights"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return tmp_path / "weights"


def _called_with(block: str, function: str) -> set[str]:
    """Names a code block passes to ``function``: literals, or a loop variable's literals."""
    names = set()
    for argument in re.findall(rf"{function}\((\"[^\"]+\"|\w+)", block):
        if argument.startswith('"'):
            names.add(argument.strip('"'))
        else:
            for values in re.findall(rf"for {argument} in \(([^)]*)\)", block):
                names |= set(re.findall(r"\"([^\"]+)\"", values))
    return names


def test_the_book_list_covers_every_weights_call_of_the_notebooks():
    ours, timm_names = set(), set()
    for notebook in NOTEBOOKS.glob("*.md"):
        for block in re.findall(r"```python[^\n]*\n(.*?)```", notebook.read_text("utf-8"), re.S):
            ours |= _called_with(block, r"pretrained\.load")
            timm_names |= _called_with(block, r"pretrained\.timm_model")
    assert ours >= {"alexnet"} and timm_names  # the notebooks do load weights
    assert ours <= set(with_references())
    assert ours <= set(make_weights.BOOK_MODELS)
    assert timm_names <= set(make_weights.BOOK_TIMM)


def test_make_weights_downloads_once_and_the_loader_then_reads_offline(
    folder, monkeypatch, capsys
):
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(weights=None).eval()
    downloads = []

    def download(url, model_dir, **kwargs):  # what torch.hub does, without the network
        downloads.append(url)
        path = Path(model_dir) / url.rsplit("/", 1)[-1]
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(reference.state_dict(), path)
        return reference.state_dict()

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(weights, "network_available", lambda: True)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", download)
    assert make_weights.main(["resnet18"]) == 0
    assert make_weights.main(["resnet18"]) == 0
    fetched, present = capsys.readouterr().out.splitlines()[1::2]
    assert fetched.startswith("скачано: resnet18") and present.startswith("есть:    resnet18")
    assert len(downloads) == 1 and str(folder) in fetched

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    forbid_network(monkeypatch)
    ours, _ = pretrained.load("resnet18")
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x))


def test_make_weights_reports_what_is_missing_without_a_network_call(folder, monkeypatch, capsys):
    forbid_network(monkeypatch)
    assert make_weights.main(["googlenet", "timm:resnet50"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Папка весов: {folder}"
    assert [line.split()[0] for line in lines[1:]] == ["ошибка:", "ошибка:"]


def test_the_network_is_probed_once_per_process(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(weights, "_probe", {})
    calls = []
    monkeypatch.setattr(weights, "_connect", lambda result: calls.append(result))
    assert weights.network_available() is False  # no answer counts as no network
    assert weights.network_available() is False
    assert len(calls) == 1


def test_a_hanging_probe_is_given_up(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(weights, "_probe", {})
    monkeypatch.setattr(weights, "PROBE_TIMEOUT_S", 0.05)
    never = threading.Event()
    monkeypatch.setattr(weights, "_connect", lambda result: never.wait(5))
    assert weights.network_available() is False
    never.set()


def test_hf_hub_offline_means_no_probe(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(weights, "_probe", {})
    forbid_network(monkeypatch)
    assert weights.network_available() is False and weights._probe == {}


class _Plant:
    """Pickled, this runs ``touch marker`` if anything loads it without ``weights_only``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


# Random bytes fail in torch's weights-only unpickler with UnpicklingError, IndexError,
# KeyError or UnicodeDecodeError, by seed (measured: seeds 0, 2, 20, 195).
@pytest.mark.parametrize("kind", ["garbage-0", "garbage-2", "garbage-20", "garbage-195",
                                  "truncated", "planted", "not-a-state-dict",
                                  "garbage-0.safetensors"])
def test_a_bad_weights_file_is_one_error_naming_it_and_never_run(folder, tmp_path, kind):
    """Issue 11, item 6: never torch's advice to retry with weights_only=False."""
    marker = tmp_path / "pwned"
    path = tmp_path / ("w.safetensors" if kind.endswith("safetensors") else "w.pth")
    if kind.startswith("garbage"):
        path.write_bytes(random.Random(int(kind.split("-")[1].split(".")[0])).randbytes(2000))
    elif kind == "truncated":
        torch.save(torchvision.models.alexnet().state_dict(), path)
        path.write_bytes(path.read_bytes()[:5000])
    elif kind == "planted":
        torch.save({"features.0.weight": _Plant(marker)}, path)
    else:
        torch.save({"features.0.weight": [1.0, 2.0]}, path)
    with pytest.raises(ValueError, match=re.escape(f"weights file {path}")) as error:
        pretrained.load("alexnet", weights_path=path)
    assert "weights_only=False" not in str(error.value) and "\n" not in str(error.value)
    assert not marker.exists(), "the planted weights file ran"


def test_weights_of_another_architecture_name_file_architecture_and_first_key(folder, tmp_path):
    path = tmp_path / "vgg11.pth"
    torch.save(torchvision.models.vgg11().state_dict(), path)
    with pytest.raises(ValueError) as error:
        pretrained.load("alexnet", weights_path=path)
    message = str(error.value)
    assert message.startswith(f"weights file {path} does not hold the weights of the expected "
                              "architecture torchvision.models.alexnet.AlexNet: ")
    assert message.endswith("features.0.weight has shape (64, 3, 3, 3), expected "
                            "(64, 3, 11, 11)")
    assert "\n" not in message
