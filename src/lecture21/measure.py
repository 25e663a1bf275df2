"""How big and how expensive a model is: parameters, multiply-adds (MACs), FLOPs, latency.

Papers count multiply-adds; ``torch.utils.flop_counter`` counts FLOPs = 2 x MACs for
convolutions and matrix products. Both are reported, split by the kind of layer, because the
slide "Особенности CNN" says that convolutions hold the computation and the MLP the parameters.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from lecture21.helpers import eval_mode, model_device

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def layer_kind(module: nn.Module) -> str:
    """``"conv"`` for convolutions, ``"fc"`` for fully connected layers, else ``"other"``.

    A module of our own that is a convolution by another name (LeNet-5's partially connected
    C3) says so with a class attribute ``layer_kind = "conv"``.
    """
    if getattr(module, "layer_kind", None) in ("conv", "fc"):
        return module.layer_kind
    if isinstance(module, _CONV):
        return "conv"
    if isinstance(module, nn.Linear):
        return "fc"
    return "other"


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """The number of parameters (shared ones counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def conv_weights(model: nn.Module) -> int:
    """Weights of the convolutions only (no biases, no batch norm): what the papers' block
    arithmetic counts (SqueezeNext's ``9C^2/4`` against a 3x3 convolution's ``9C^2``)."""
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, _CONV))


def parameter_split(model: nn.Module) -> dict[str, int]:
    """Parameters by layer kind: ``{"conv": ..., "fc": ..., "other": ..., "total": ...}``."""
    split: Counter[str] = Counter({"conv": 0, "fc": 0, "other": 0})
    counted: set[int] = set()
    for module in model.modules():
        kind = layer_kind(module)
        # A conv or fc layer owns everything under it (C3's ParameterList of kernels).
        mine = module.parameters(recurse=kind != "other")
        for p in mine:
            if id(p) not in counted:
                counted.add(id(p))
                split[kind] += p.numel()
    split["total"] = count_parameters(model)
    return dict(split)


def flop_split(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, int]:
    """FLOPs of one forward pass of a batch of ``input_shape`` by kind: conv, fc, other, total.

    Counted by ``torch.utils.flop_counter.FlopCounterMode`` on a zero input in eval mode;
    ``convolution`` ops count as conv, matrix products (``addmm``, ``mm``, ``bmm``) as fc.
    """
    if len(input_shape) < 3:
        raise ValueError(f"input_shape must be (batch, channels, ...), got {input_shape!r}")
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), eval_mode(model), counter:
        model(torch.zeros(input_shape, device=model_device(model)))
    split: Counter[str] = Counter({"conv": 0, "fc": 0, "other": 0})
    for op, flops in counter.get_flop_counts()["Global"].items():
        name = str(op)
        if "convolution" in name:
            split["conv"] += flops
        elif any(k in name for k in ("addmm", ".mm", "bmm", "matmul", "linear")):
            split["fc"] += flops
        else:
            split["other"] += flops
    split["total"] = sum(split[k] for k in ("conv", "fc", "other"))
    return dict(split)


def mac_split(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, int]:
    """Multiply-adds (what papers count) = FLOPs / 2, by kind, for one forward pass."""
    return {k: v // 2 for k, v in flop_split(model, input_shape).items()}


def macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-adds of one forward pass of a batch of ``input_shape`` (what papers count)."""
    return mac_split(model, input_shape)["total"]


def flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs of one forward pass (``torch.utils.flop_counter``: 2 per multiply-add)."""
    return flop_split(model, input_shape)["total"]


@dataclass(frozen=True)
class Latency:
    """Wall time of one forward pass: the median over ``runs`` (ms), after a warm-up."""

    median_ms: float
    runs_ms: tuple[float, ...]
    batch_size: int
    device: str
    threads: int

    @property
    def spread_ms(self) -> float:
        """Largest minus smallest run: how much to trust the median."""
        return max(self.runs_ms) - min(self.runs_ms)


def latency(
    model: nn.Module,
    input_shape: tuple[int, ...],
    *,
    repeats: int = 5,
    warmup: int = 1,
    device: torch.device | str | None = None,
    threads: int | None = None,
) -> Latency:
    """Median wall time of ``repeats`` forward passes (eval mode, no gradients) after
    ``warmup`` passes that are not counted (allocations, lazy initialisation, caches).

    The model is moved to ``device`` (default: where it is) only for the measurement; its
    training mode is restored. On a shared CPU the median, not the mean, resists the other
    processes' interference; ``threads`` (e.g. 1) fixes torch's CPU threads for the
    measurement (restored after): a network of many small operations (GoogLeNet) otherwise
    pays for every parallel region waiting on a core that another process holds.
    """
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive int or None, got {threads!r}")
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got {repeats}, {warmup}")
    if len(input_shape) < 3:
        raise ValueError(f"input_shape must be (batch, channels, ...), got {input_shape!r}")
    original = model_device(model)
    target = torch.device(device) if device is not None else original
    runs = []
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    used_threads = torch.get_num_threads()
    try:
        with torch.no_grad(), eval_mode(model):
            model.to(target)
            x = torch.randn(input_shape, device=target)
            for i in range(warmup + repeats):
                if target.type == "cuda":
                    torch.cuda.synchronize(target)
                start = time.perf_counter()
                model(x)
                if target.type == "cuda":
                    torch.cuda.synchronize(target)
                if i >= warmup:
                    runs.append((time.perf_counter() - start) * 1000)
    finally:
        torch.set_num_threads(previous_threads)
        model.to(original)
    return Latency(statistics.median(runs), tuple(runs), input_shape[0], str(target), used_threads)


def activation_memory(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, int]:
    """Bytes of the activations of one forward pass, from every leaf module's output.

    ``"total"`` sums them (what training keeps for the backward pass, roughly), ``"largest"`` is
    the biggest single output (a lower bound of inference's peak), ``"input"`` the input's.
    Cheap: one forward pass with hooks that only read the outputs' sizes (always removed).
    """
    if len(input_shape) < 3:
        raise ValueError(f"input_shape must be (batch, channels, ...), got {input_shape!r}")
    sizes: list[int] = []

    def record(module, inputs, output) -> None:
        if isinstance(output, torch.Tensor):
            sizes.append(output.numel() * output.element_size())

    _forward_with_hooks(
        model, input_shape, [(m, record) for m in model.modules() if not list(m.children())]
    )
    x_bytes = torch.zeros((), dtype=torch.float32).element_size()
    for n in input_shape:
        x_bytes *= n
    return {"total": sum(sizes), "largest": max(sizes, default=0), "input": x_bytes}


def peak_memory(model: nn.Module, input_shape: tuple[int, ...], *, training: bool = False) -> int:
    """Peak bytes allocated on the CPU during one pass, weights excluded, as ``torch.profiler``
    records every allocation and free (``profile_memory=True``).

    ``training=False``: a forward pass in eval mode without gradients, the memory a deployed
    model needs beyond its weights. ``training=True``: a forward and a backward pass in train
    mode (of a copy, so that batch norm's running statistics stay untouched): the activations
    autograd keeps for the backward pass plus the gradients. A warm-up pass is not counted.
    """
    from torch.profiler import ProfilerActivity, profile

    if len(input_shape) < 3:
        raise ValueError(f"input_shape must be (batch, channels, ...), got {input_shape!r}")
    if model_device(model).type != "cpu":
        raise ValueError("peak_memory measures the CPU allocator: move the model to the CPU")
    net = copy.deepcopy(model).train(training)
    x = torch.randn(input_shape)

    def run() -> None:
        if training:
            net(x).float().sum().backward()
            net.zero_grad(set_to_none=True)
        else:
            with torch.no_grad():
                net(x)

    run()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        run()
    live = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        live += event.self_cpu_memory_usage
        peak = max(peak, live)
    return peak


def summary(
    model: nn.Module, input_shape: tuple[int, ...], *, latency_repeats: int = 0
) -> dict[str, float]:
    """One row of a comparison table: parameters (total, conv, fc), MACs, FLOPs, activation
    memory, and, with ``latency_repeats`` > 0, the CPU latency in ms."""
    params = parameter_split(model)
    mac = mac_split(model, input_shape)
    row: dict[str, float] = {
        "params": params["total"],
        "params_conv": params["conv"],
        "params_fc": params["fc"],
        "macs": mac["total"],
        "macs_conv": mac["conv"],
        "macs_fc": mac["fc"],
        "flops": 2 * mac["total"],
        "activations_bytes": activation_memory(model, input_shape)["total"],
    }
    if latency_repeats:
        row["latency_ms"] = latency(model, input_shape, repeats=latency_repeats).median_ms
    return row


def training_row(
    result, input_shape: tuple[int, ...] = (1, 3, 32, 32), latency_repeats: int = 5
) -> dict[str, object]:
    """One row of a notebook's results table for a ``lecture21.train.TrainResult``:
    parameters, MACs, CPU latency (batch of ``input_shape``), training time, accuracy, device."""
    model = result.model
    return {
        "параметры": count_parameters(model),
        "MAC, млн": round(macs(model, input_shape) / 1e6, 2),
        "задержка CPU, мс": round(
            latency(model, input_shape, repeats=latency_repeats, device="cpu").median_ms, 2
        ),
        "обучение, с": round(result.train_time_s, 1),
        "точность (тест)": result.test_accuracy,
        "устройство": str(result.device),
        "эпох": result.epochs,
    }


#: The columns of every claims table: what the lecture's slide says, what the primary source
#: (paper, dataset page) says, what this book computes, and the verdict.
CLAIMS_COLUMNS = ("в лекции", "источник", "измерено", "вывод")


def claims_table(rows):
    """The «в лекции / источник / измерено / вывод» table as a pandas DataFrame, one row per
    claim ``(claim, lecture, source, measured, holds: bool)``.

    ``lecture`` is only what the slide says; a figure from a paper goes into ``source``, never
    into ``lecture`` (the lecture and its sources disagree often enough to need both). A row of
    four, ``(claim, lecture, measured, holds)``, has no source: its cell says «—».
    """
    import pandas as pd

    body, names = [], []
    for row in rows:
        if len(row) == 4:
            row = (row[0], row[1], "—", row[2], row[3])
        if len(row) != 5 or not isinstance(row[4], bool):
            raise ValueError(
                "each row must be (claim, lecture, source, measured, holds: bool), "
                f"got {row!r}"
            )
        claim, lecture, source, measured, holds = row
        names.append(claim)
        body.append((lecture, source, measured, "верно" if holds else "неверно / уточнено"))
    return pd.DataFrame(body, columns=list(CLAIMS_COLUMNS),
                        index=pd.Index(names, name="утверждение"))


def layer_shapes(
    model: nn.Module, input_shape: tuple[int, ...], layers: Sequence[str]
) -> list[tuple[int, ...]]:
    """Output shapes (without the batch) of the named submodules for one zero input."""
    shapes: dict[str, tuple[int, ...]] = {}

    def recorder(name: str):
        def hook(module, inputs, output) -> None:  # returns None: the output is kept
            shapes.setdefault(name, tuple(output.shape[1:]))

        return hook

    _forward_with_hooks(
        model, input_shape, [(model.get_submodule(name), recorder(name)) for name in layers]
    )
    return [shapes[name] for name in layers]


def _forward_with_hooks(
    model: nn.Module, input_shape: tuple[int, ...], hooks: list[tuple[nn.Module, Callable]]
) -> None:
    """One forward pass of a zero input in eval mode with forward ``hooks`` on their modules,
    every hook removed and every module's mode restored afterwards."""
    handles = [module.register_forward_hook(hook) for module, hook in hooks]
    try:
        with torch.no_grad(), eval_mode(model):
            model(torch.zeros(input_shape, device=model_device(model)))
    finally:
        for handle in handles:
            handle.remove()


#: The networks the slide "Особенности CNN" is checked on: (name shown, registry name, variant,
#: builder options, input shape). Paper-sized ImageNet networks, LeNet-5 as printed in 1998.
SPLIT_NETWORKS: tuple[tuple[str, str, str, dict, tuple[int, ...]], ...] = (
    ("simple_cnn", "simple_cnn", "cifar", {}, (1, 3, 32, 32)),
    ("LeNet-5", "lenet5", "cifar", {"paper": True}, (1, 1, 32, 32)),
    ("AlexNet", "alexnet", "imagenet", {}, (1, 3, 224, 224)),
    ("VGG-16", "vgg16", "imagenet", {}, (1, 3, 224, 224)),
    ("GoogLeNet", "googlenet", "imagenet", {"aux_logits": False}, (1, 3, 224, 224)),
    ("ResNet-18", "resnet18", "imagenet", {}, (1, 3, 224, 224)),
)


def conv_mlp_split(networks=SPLIT_NETWORKS):
    """Where parameters and multiply-adds sit, convolutions against the fully connected head
    (MLP), for each network of ``networks`` (rows as in :data:`SPLIT_NETWORKS`).

    Slide "Особенности CNN": "most computation is in the convolutions, most parameters in the
    MLP". The networks are built on the meta device (nothing is allocated), so the table costs
    a second. Shares are fractions of the network's total; "прочие" are batch norm, LeNet's
    trainable subsampling and the like. A network with global average pooling and one linear
    layer (GoogLeNet, ResNet) keeps few parameters in its head: there the slide stops holding.
    """
    import pandas as pd

    from lecture21 import models

    rows = {}
    for shown, name, variant, options, shape in networks:
        with torch.device("meta"):
            model = models.create(name, variant, **options)
        params, mac = parameter_split(model), mac_split(model, shape)
        rows[shown] = {
            "параметры, млн": round(params["total"] / 1e6, 3),
            "параметры в свёртках": params["conv"] / params["total"],
            "параметры в MLP": params["fc"] / params["total"],
            "MAC, млн": round(mac["total"] / 1e6, 1),
            "MAC в свёртках": mac["conv"] / mac["total"],
            "MAC в MLP": mac["fc"] / mac["total"],
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("сеть")
