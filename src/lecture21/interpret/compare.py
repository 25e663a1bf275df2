"""Every method as one (B, H, W) map, so that the quality measures can rank them in one table."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from lecture21.interpret import quality
from lecture21.interpret.gradcam import grad_cam, guided_grad_cam
from lecture21.interpret.gradients import deconvnet, guided_backprop, saliency
from lecture21.interpret.occlusion import occlusion

__all__ = ["METHOD_NAMES", "attribution_maps", "format_rows", "quality_rows"]

#: Russian names of the methods, in the order of the lecture.
METHOD_NAMES = {
    "occlusion": "закраска (occlusion)",
    "saliency": "карта значимости (saliency)",
    "deconvnet": "deconvnet",
    "guided_backprop": "guided backprop",
    "grad_cam": "Grad-CAM",
    "guided_grad_cam": "guided Grad-CAM",
    "random": "случайная карта (ориентир)",
}


def _methods(layer: nn.Module | str, window: int, stride: int) -> dict[str, Callable]:
    def channels(fn):  # (B, C, H, W) attributions -> (B, H, W) by max |.| over channels
        return lambda m, x, t: fn(m, x, t).abs().amax(1)

    return {
        "occlusion": lambda m, x, t: occlusion(m, x, t, window=window, stride=stride),
        "saliency": saliency,
        "deconvnet": channels(deconvnet),
        "guided_backprop": channels(guided_backprop),
        "grad_cam": lambda m, x, t: grad_cam(m, x, t, layer, upsample=True),
        "guided_grad_cam": channels(lambda m, x, t: guided_grad_cam(m, x, t, layer)),
        "random": lambda m, x, t: torch.rand(len(x), *x.shape[2:],
                                             generator=torch.Generator().manual_seed(0)),
    }


def attribution_maps(
    model: nn.Module, x: torch.Tensor, target: int | torch.Tensor, layer: nn.Module | str,
    window: int = 8, stride: int = 4,
) -> dict[str, torch.Tensor]:
    """``{method: (B, H, W) map on the CPU}`` for every method of :data:`METHOD_NAMES`."""
    return {
        name: fn(model, x, target).detach().cpu()
        for name, fn in _methods(layer, window, stride).items()
    }


def quality_rows(
    model: nn.Module,
    x: torch.Tensor,
    target: int | torch.Tensor,
    layer: nn.Module | str,
    masks: torch.Tensor | None = None,
    randomized: nn.Module | None = None,
    steps: int = 16,
    curves: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> list[dict[str, object]]:
    """One row per method: pointing game and mass in mask (when ``masks`` are given), the
    deletion and insertion areas, and the Spearman correlation with the maps of ``randomized``
    (the model with its top layers re-initialised), each averaged over the batch. The
    deletion and insertion curves are also put into ``curves``, when given, by method name.
    """
    maps = attribution_maps(model, x, target, layer)
    random_maps = attribution_maps(randomized, x, target, layer) if randomized else {}
    rows = []
    for name, found in maps.items():
        row: dict[str, object] = {"метод": METHOD_NAMES[name]}
        if masks is not None:
            row["pointing game"] = quality.pointing_game(found, masks).float().mean().item()
            row["доля в маске"] = quality.mass_in_mask(found, masks).mean().item()
        deletion, insertion = quality.deletion_insertion(model, x, target, found, steps=steps)
        if curves is not None:
            curves[METHOD_NAMES[name]] = (deletion, insertion)
        row["AUC удаления ↓"] = quality.area_under_curve(deletion).mean().item()
        row["AUC вставки ↑"] = quality.area_under_curve(insertion).mean().item()
        if randomized is not None and name != "random":
            row["Спирмен с рандомиз. ↓"] = quality.spearman(found, random_maps[name]).mean().item()
        rows.append(row)
    return rows


def format_rows(rows: list[dict[str, object]], digits: int = 3) -> str:
    """A plain-text table of ``rows`` (dicts with the same keys), numbers rounded."""
    if not rows:
        raise ValueError("rows is empty")
    keys = list(dict.fromkeys(k for row in rows for k in row))

    def cell(value: object) -> str:
        if value is None:
            return "—"
        return f"{value:.{digits}f}" if isinstance(value, float) else str(value)

    table = [[cell(row.get(k)) for k in keys] for row in rows]
    widths = [max(len(k), *(len(r[i]) for r in table)) for i, k in enumerate(keys)]
    lines = ["  ".join(k.ljust(w) if i == 0 else k.rjust(w)
                       for i, (k, w) in enumerate(zip(keys, widths, strict=True)))]
    for r in table:
        lines.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                               for i, (v, w) in enumerate(zip(r, widths, strict=True))))
    return "\n".join(lines)
