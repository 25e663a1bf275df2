"""Zeiler & Fergus's figure of a feature map: the 9 inputs that excite one channel most, the
input patch of each activation's receptive field, and the activation projected back to pixel
space by the deconvnet (Zeiler and Fergus, 2014, Fig. 2). Slide "Другие подходы".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lecture21.data import normalize
from lecture21.interpret.gradients import deconvnet
from lecture21.interpret.hooks import capture, eval_mode, resolve_layer
from lecture21.interpret.receptive_field import ReceptiveField

__all__ = ["PatchView", "TopActivation", "patch_box", "strongest_patches", "top_activations",
           "unit_projection"]


@dataclass(frozen=True)
class TopActivation:
    """Image ``index`` of the batch, the position ``(y, x)`` of its strongest activation of
    the channel in the layer's map, and the activation's value."""

    index: int
    y: int
    x: int
    value: float


def top_activations(model: nn.Module, images: torch.Tensor, layer: nn.Module | str,
                    channel: int, k: int = 9, batch_size: int = 256) -> list[TopActivation]:
    """The ``k`` uint8 ``(N, H, W, 3)`` images whose strongest activation of ``channel`` in
    ``layer`` is largest (one entry per image, as in the paper), strongest first."""
    module = resolve_layer(model, layer)
    if not isinstance(k, int) or not 1 <= k <= len(images):
        raise ValueError(f"k must be an int in [1, {len(images)}], got {k!r}")
    device = next(model.parameters()).device
    best = []
    with eval_mode(model), torch.no_grad():
        for chunk in images.split(batch_size):
            with capture(module) as seen:
                model(normalize(chunk.to(device)))
            maps = seen.output
            if not 0 <= channel < maps.shape[1]:
                raise ValueError(f"channel must be in [0, {maps.shape[1]}), got {channel!r}")
            best.append(maps[:, channel].flatten(1).float().cpu())
    flat = torch.cat(best)
    values, where = flat.max(1)
    width = maps.shape[-1]
    order = values.argsort(descending=True)[:k]
    return [TopActivation(int(i), int(where[i]) // width, int(where[i]) % width,
                          float(values[i])) for i in order]


def patch_box(field: ReceptiveField, y: int, x: int, height: int, width: int
              ) -> tuple[int, int, int, int]:
    """``(top, left, bottom, right)`` pixel rows/columns (bottom/right exclusive) of the input
    window that unit ``(y, x)`` sees, cut to the image: pixel ``i`` spans ``[i, i + 1)`` and
    the window of side ``field.size`` is centred at ``field.start + index * field.stride``."""
    def span(index: int, limit: int) -> tuple[int, int]:
        first = round(field.start + index * field.stride - field.size / 2)
        return max(first, 0), min(first + field.size, limit)

    top, bottom = span(y, height)
    left, right = span(x, width)
    return top, left, bottom, right


class _Unit(nn.Module):
    """The model cut to one number per image: the activation of ``channel`` at ``(y, x)``."""

    def __init__(self, model: nn.Module, layer: nn.Module, channel: int, y: int, x: int):
        super().__init__()
        self.model, self.layer, self.where = model, layer, (channel, y, x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with capture(self.layer) as seen:
            self.model(x)
        channel, y, x_ = self.where
        return seen.output[:, channel, y, x_].unsqueeze(1)


def unit_projection(model: nn.Module, image: torch.Tensor, layer: nn.Module | str,
                    unit: TopActivation, channel: int) -> torch.Tensor:
    """The deconvnet's projection ``(3, H, W)`` of one activation (all others set to zero)
    back to pixel space, for one uint8 ``(H, W, 3)`` image."""
    module = resolve_layer(model, layer)
    x = normalize(image.unsqueeze(0))
    return deconvnet(_Unit(model, module, channel, unit.y, unit.x), x, 0)[0]



@dataclass(frozen=True)
class PatchView:
    """One of the top activations of a channel: its input ``patch`` (uint8 ``(h, w, 3)``), the
    deconvnet ``projection`` cut to the same window (``(h, w, 3)`` in [0, 1]), the ``box`` and
    how much of the projection's mass falls ``outside`` that box (0 for a correct field)."""

    activation: TopActivation
    box: tuple[int, int, int, int]
    patch: torch.Tensor
    projection: torch.Tensor
    outside: float


def strongest_patches(model: nn.Module, images: torch.Tensor, layer: str,
                      channels: tuple[int, ...], k: int = 9) -> dict[int, list[PatchView]]:
    """Zeiler & Fergus's Fig. 2 for ``channels`` of ``layer``: per channel the ``k`` strongest
    activations over uint8 ``images`` with their patches and projections."""
    from lecture21.helpers import minmax
    from lecture21.interpret.receptive_field import receptive_field

    field = receptive_field(model, layer)
    height, width = images.shape[1:3]
    views = {}
    for channel in channels:
        views[channel] = []
        for unit in top_activations(model, images, layer, channel, k):
            top, left, bottom, right = box = patch_box(field, unit.y, unit.x, height, width)
            projection = unit_projection(model, images[unit.index], layer, unit, channel)
            magnitude = projection.abs().sum(0)
            total = float(magnitude.sum())  # 0 for a dead channel: nothing leaves the box
            inside = float(magnitude[top:bottom, left:right].sum())
            outside = 1 - inside / total if total > 0 else 0.0
            cut = projection[:, top:bottom, left:right].permute(1, 2, 0)
            views[channel].append(PatchView(unit, box, images[unit.index, top:bottom, left:right],
                                            minmax(cut[None], eps=1e-12)[0], outside))
    return views
