"""Checkpoints of a run: everything it depends on, written atomically, read without executing.

A checkpoint holds the weights, optimizer, schedule, random states, history, hyperparameters
and the data's sizes, so an interrupted run resumes and, on the CPU with a fixed seed, ends with
exactly the weights of an uninterrupted one.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn

from lecture21.helpers import atomic_write

__all__ = ["CHECKPOINT_FORMAT", "architecture", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_FORMAT = 1


def architecture(model: nn.Module) -> dict:
    """What a checkpoint must match: the class and every tensor's name and shape."""
    shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
    return {"class": f"{type(model).__module__}.{type(model).__qualname__}", "shapes": shapes}


def save_checkpoint(path: Path, model: nn.Module, **state) -> None:
    """Write ``state`` with the model's weights and architecture to ``path`` atomically."""
    state = {"format": CHECKPOINT_FORMAT, "architecture": architecture(model),
             "model": model.state_dict(), **state}
    atomic_write(path, lambda temporary: torch.save(state, temporary))


def load_checkpoint(path: str | Path, model: nn.Module | None = None) -> dict:
    """Read a checkpoint with ``weights_only=True``; with ``model``, check and load its weights.

    A checkpoint of another architecture (class, or any tensor's name or shape) raises a
    ``ValueError`` that names both.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError) as error:
        raise ValueError(f"checkpoint {path} cannot be read: {error}") from error
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"checkpoint {path} was not written by lecture21.train.fit")
    if model is not None:
        saved, current = state["architecture"], architecture(model)
        if saved != current:
            differing = sorted(
                k for k in set(saved["shapes"]) | set(current["shapes"])
                if saved["shapes"].get(k) != current["shapes"].get(k)
            )
            raise ValueError(
                f"checkpoint {path} holds a {saved['class']} but the model is a "
                f"{current['class']} of another architecture (tensors that differ: "
                f"{', '.join(differing[:5]) or 'none'}{', ...' if len(differing) > 5 else ''}); "
                "delete the file or pass another checkpoint_path"
            )
        model.load_state_dict(state["model"])
    return state
