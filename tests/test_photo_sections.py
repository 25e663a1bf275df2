"""Issue 10's acceptance: `make weights`, then the book with no network, shows the photo sections
where the weights files exist and one short notice where they do not.

`make weights` runs for real (`lecture21.pretrained.main`), its download replaced by saving a
randomly initialised torchvision GoogLeNet where torch.hub would have put the official file.
Then notebook 05's set-up cell and its photo section run in a Jupyter kernel (nbclient, smoke
profile) whose sockets refuse to connect and whose CIFAR-10 is a tiny synthetic set: GoogLeNet,
whose file is there, prints its top-5 on the photographs and draws its CAM; VGG-16, whose file
is not, prints one short line. With an empty weights folder every model of the section prints
its one line, and nothing else is shown.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbclient
import nbformat
import pytest
import torch
import torchvision

from lecture21 import pretrained
from lecture21.pretrained import __main__ as make_weights
from lecture21.pretrained import weights

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05_vgg_googlenet.md"

# The kernel's first cell: no connection can be opened, and the set-up cell's CIFAR-10 is a
# tiny synthetic set (the data are not what is tested here; building them would cost seconds).
NO_NETWORK = """
import socket
from lecture21 import data
def _refuse(*args, **kwargs):
    raise OSError("the network is off in this test")
socket.socket.connect = _refuse
socket.create_connection = _refuse
data.load_cifar10 = lambda *args, **kwargs: data.synthetic_data(64, 64, notice="synthetic")
"""
# "<model> <photo> <class> NN%, ..." with five classes: one line per model and photograph
PREDICTION = re.compile(r"^(\w+) (кошка \(chelsea\)|кофе \(coffee\)) (.+ \d+%, ){4}.+ \d+%$")


def _section_cells() -> list[str]:
    """The notebook's set-up cell and the code cells of its photo section, as they are."""
    cells = [c for c in jupytext.read(NOTEBOOK).cells if c.cell_type == "code"]
    setup = [c.source for c in cells if "results.notebook(" in c.source]
    photos = [c.source for c in cells if "pretrained.load(" in c.source]
    assert len(setup) == 1 and len(photos) == 1, "the set-up or the photo cell moved"
    return [NO_NETWORK, *setup, *photos]


def _run(sources: list[str]) -> tuple[list[str], int]:
    """Execute the cells in a fresh kernel; the last cell's printed lines and its images."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = nb.cells[-1].outputs
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    return text.splitlines(), images


@pytest.fixture
def offline_book(monkeypatch, tmp_path):
    """The book's environment with no network: smoke profile, no CIFAR-10, an empty cache."""
    monkeypatch.setenv("LECTURE21_PROFILE", "smoke")
    monkeypatch.setenv("LECTURE21_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("LECTURE21_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(pretrained.WEIGHTS_ENV, str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend draws PNGs
    return tmp_path / "weights"


def _make_weights_googlenet(monkeypatch, capsys) -> None:
    """`make weights googlenet`, the download replaced by a random reference's state dict."""
    torch.manual_seed(0)
    reference = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=False)

    def download(url, model_dir, **kwargs):
        path = Path(model_dir) / url.rsplit("/", 1)[-1]
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(reference.state_dict(), path)
        return reference.state_dict()

    with monkeypatch.context() as patch:
        patch.delenv("HF_HUB_OFFLINE")
        patch.setattr(weights, "network_available", lambda: True)
        patch.setattr(torch.hub, "load_state_dict_from_url", download)
        assert make_weights.main(["googlenet"]) == 0
    assert "скачано: googlenet" in capsys.readouterr().out


def _short(line: str, folder: Path) -> bool:
    """One short line: under 200 characters besides the weights folder it names."""
    return str(folder) in line and len(line) - len(str(folder)) < 200


def _notices(lines: list[str]) -> list[str]:
    return [line for line in lines if "недоступны" in line]


def test_photo_section_shows_predictions_where_the_file_exists(offline_book, monkeypatch,
                                                                capsys):
    _make_weights_googlenet(monkeypatch, capsys)
    lines, images = _run(_section_cells())
    predictions = [line for line in lines if PREDICTION.match(line)]
    assert [line.split()[0] for line in predictions] == ["googlenet", "googlenet"], lines
    notices = _notices(lines)
    assert len(notices) == 1 and "vgg16" in notices[0] and _short(notices[0], offline_book), lines
    assert len(lines) == 3, lines  # the two predictions and the one notice, nothing else
    assert images == 1  # GoogLeNet's CAM on the cat


def test_photo_section_says_one_short_line_per_missing_file(offline_book):
    lines, images = _run(_section_cells())
    assert len(lines) == 2 and images == 0, lines
    assert [("vgg16" in n, "GoogLeNet" in n) for n in _notices(lines)] == [(True, False),
                                                                          (False, True)], lines
    assert all(_short(line, offline_book) and "make weights" in line for line in lines), lines
