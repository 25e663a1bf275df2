"""The course at a glance, for the conclusion (slides "Общие принципы" and "Заключение").

Every architecture the notebooks trained on CIFAR-10 is read from the results store
(:func:`architectures`), with its CPU latency measured here on a freshly built copy; the
ImageNet models are compared by torchvision's published evaluation of its weights
(:func:`imagenet_reference`: parameters, multiply-adds and top-1 accuracy from the weights'
metadata, nothing typed) and their latency is measured the same way (:func:`imagenet_latency`).
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from lecture21 import measure, results

__all__ = [
    "IMAGENET_MODELS",
    "notebook_links",
    "architectures",
    "imagenet_latency",
    "imagenet_reference",
    "plot_cost_accuracy",
]

#: torchvision models for the lecture's architectures, in the lecture's order.
IMAGENET_MODELS = (
    "alexnet", "vgg16", "googlenet", "resnet18", "resnet50", "resnet152", "resnext50_32x4d",
    "densenet121", "mobilenet_v2", "squeezenet1_1", "shufflenet_v2_x1_0",
)


def notebook_links(names: list[str], titles: dict[str, str] | None = None) -> dict[str, str]:
    """MyST links ``{doc}`title <name>``` to the notebooks ``names`` (in the same folder), for
    a cell whose Markdown output is rendered as MyST (cell metadata
    ``mystnb={"markdown_format": "myst"}``); ``titles`` maps a name to its link text."""
    titles = titles or {}
    return {name: f"{{doc}}`{titles.get(name) or name} <{name}>`" for name in names}


ARCHITECTURE_COLUMNS = [
    "тетрадь", "модель", "опции", "параметры", "MAC", "задержка CPU, мс", "точность (тест)",
    "обучение, с", "устройство", "профиль", "данные",
]


def _options(value) -> dict:
    return dict(value) if isinstance(value, dict) else {}


def _cifar_latency(model: str, options: dict, repeats: int) -> float:
    """Median CPU latency (ms, one 32x32 image, one thread) of a fresh ``model``; NaN when the
    registry cannot build it with these options (a run recorded by an older package)."""
    from lecture21 import models

    try:
        net = models.create(model, "cifar", **options)
    except (KeyError, ValueError, TypeError):
        return math.nan
    return measure.latency(net, (1, 3, 32, 32), repeats=repeats, device="cpu",
                           threads=1).median_ms


def architectures(frame: pd.DataFrame | None = None, profile: str | None = None,
                  latency_repeats: int = 5) -> pd.DataFrame:
    """One row per architecture trained on CIFAR-10 in the notebooks' latest sessions.

    Of several runs of one model (an ablation, a narrower copy) the row keeps the one trained
    on the most examples, then the most accurate. ``latency_repeats=0`` skips the latency.
    """
    if not isinstance(latency_repeats, int) or latency_repeats < 0:
        raise ValueError(f"latency_repeats must be an int >= 0, got {latency_repeats!r}")
    rows = results.latest(frame, profile)
    rows = rows[(rows["kind"] == "run") & (rows["variant"] == "cifar")].copy()
    real = rows["data"].fillna("").str.startswith("CIFAR-10")
    if real.any():  # a model trained on the synthetic shapes (for their masks) is left out
        rows = rows[real]
    if rows.empty:
        return pd.DataFrame(columns=ARCHITECTURE_COLUMNS)
    size = rows["train_size"] if "train_size" in rows.columns else pd.Series(0, rows.index)
    rows["_size"] = pd.to_numeric(size, errors="coerce").fillna(0)
    rows = rows.sort_values(["_size", "test_accuracy"], ascending=False, kind="stable")
    rows = rows.drop_duplicates("model").sort_values(["notebook", "macs"], kind="stable")
    options = rows["options"] if "options" in rows.columns else pd.Series(None, rows.index)
    body = []
    for row, option in zip(rows.itertuples(), options.map(_options)):
        delay = _cifar_latency(row.model, option, latency_repeats) if latency_repeats else None
        body.append([row.notebook, row.model,
                     ", ".join(f"{k}={v}" for k, v in option.items()), row.params, row.macs,
                     delay, row.test_accuracy, row.train_time_s, row.device, row.profile,
                     row.data])
    return pd.DataFrame(body, columns=ARCHITECTURE_COLUMNS)


def imagenet_reference(names: tuple[str, ...] = IMAGENET_MODELS) -> pd.DataFrame:
    """Parameters, multiply-adds (torchvision's ``_ops``, in G) and ImageNet top-1 of the
    torchvision weights of ``names``, from their metadata (no download)."""
    from torchvision import models as tv

    body = []
    for name in names:
        try:
            meta = tv.get_model_weights(name).DEFAULT.meta
        except (KeyError, ValueError) as error:
            raise ValueError(f"names must be torchvision models with weights, got {name!r}") \
                from error
        body.append([name, meta["num_params"], round(meta["_ops"] * 1e9),
                     meta["_metrics"]["ImageNet-1K"]["acc@1"] / 100])
    return pd.DataFrame(body, columns=["модель", "параметры", "MAC", "top-1 ImageNet"])


def imagenet_latency(names: tuple[str, ...] = IMAGENET_MODELS, repeats: int = 3) -> list[float]:
    """Median CPU latency (ms, one 224x224 image, one thread) of each torchvision model, built
    without weights (the weights do not change the time)."""
    from torchvision import models as tv

    delays = []
    for name in names:
        with torch.random.fork_rng():
            net = tv.get_model(name, weights=None)
        delays.append(measure.latency(net, (1, 3, 224, 224), repeats=repeats, device="cpu",
                                      threads=1).median_ms)
        del net
    return delays


def plot_cost_accuracy(frame: pd.DataFrame, accuracy: str = "точность (тест)",
                       title: str = "CIFAR-10 (обучено в курсе)"):
    """Accuracy (column ``accuracy``) against multiply-adds and against measured CPU latency,
    log scales, one point per model of ``frame`` (a table of :func:`architectures` or
    :func:`imagenet_reference`); a panel whose column is missing says it was not measured."""
    import matplotlib.pyplot as plt

    if accuracy not in frame.columns:
        raise ValueError(f"accuracy must be a column of the frame, got {accuracy!r}")
    panels = [("MAC", "умножений-сложений на изображение"),
              ("задержка CPU, мс", "задержка на CPU, мс (1 поток)")]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, (x, label) in zip(axes, panels):
        ax.set_title(title)
        if x not in frame.columns:  # not measured (the smoke profile skips it)
            ax.text(0.5, 0.5, "не измерено", ha="center", transform=ax.transAxes)
            continue
        shown = frame.dropna(subset=[x, accuracy])
        ax.scatter(shown[x], shown[accuracy] * 100)
        for _, point in shown.iterrows():
            ax.annotate(point["модель"], (point[x], point[accuracy] * 100), fontsize=8,
                        xytext=(3, 3), textcoords="offset points")
        if len(shown) and (shown[x] > 0).all():
            ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("точность, %")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
