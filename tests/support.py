"""Shared test helpers: tiny networks whose answers are computed by hand (as captum's tests do),
and a guard that fails a test on any network call."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn


class TwoMapCAMNet(nn.Module):
    """1x1 conv to two maps relu(x), relu(-x); global average pooling; linear layer.

    Class 0 scores ``2 mean relu(x) + 3 mean relu(-x) + 0.5``: CAM and Grad-CAM by hand.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 1, bias=False)
        self.conv.weight.data = torch.tensor([1.0, -1.0]).view(2, 1, 1, 1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(2, 2)
        self.fc.weight.data = torch.tensor([[2.0, 3.0], [-1.0, 1.0]])
        self.fc.bias.data = torch.tensor([0.5, -0.5])

    def forward(self, x):
        return self.fc(self.relu(self.conv(x)).mean((2, 3)))


class TwoLayerMLP(nn.Module):
    """x (B, 1, 2, 2) -> Linear(4, 3) -> ReLU -> Linear(3, 2); ReLU as a module or functional.

    For ``X_BY_HAND`` the hidden pre-activations are (5, 6, -1): gradients by hand.
    """

    def __init__(self, functional: bool = False) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, 3, bias=False), nn.Linear(3, 2, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.functional = functional
        with torch.no_grad():
            self.fc1.weight.copy_(torch.tensor([[1.0, -1, 2, 0], [0, 1, 1, -1], [-2, 1, 0, 1]]))
            self.fc2.weight.copy_(torch.tensor([[1.0, -3, 2], [-1, 1, 1]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x.flatten(1))
        h = F.relu(h) if self.functional else self.relu(h)
        return self.fc2(h)


#: The input of :class:`TwoLayerMLP`'s hand computation: h_pre = (1-2+6, 2+3+1, -2+2-1).
X_BY_HAND = torch.tensor([[[[1.0, 2.0], [3.0, -1.0]]]])


class Dot(nn.Module):
    """Class 0 scores ``w . x``, class 1 scores 0: its class model has a closed form."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        score = (x * self.w).flatten(1).sum(1)
        return torch.stack([score, torch.zeros_like(score)], 1)


def forbid_network(monkeypatch) -> None:
    """Any attempt to open a connection fails the test (instead of waiting on a timeout)."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a network call was attempted: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture(name="store")
def results_store(tmp_path, monkeypatch) -> Path:
    """An empty results store of the smoke profile, outside any notebook's context."""
    from lecture21 import results

    monkeypatch.setenv("LECTURE21_CACHE", str(tmp_path))
    monkeypatch.setenv("LECTURE21_PROFILE", "smoke")
    for key in ("notebook", "session", "part"):
        monkeypatch.setitem(results._CONTEXT, key, None)
    return tmp_path / "results.jsonl"
