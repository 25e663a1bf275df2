"""One GPU check for a maintainer with any CUDA GPU (issue 16; not a test): run it once.

For every CIFAR-sized training of the notebooks (``lecture21.budget.FULL_RUNS``: the models and
options the notebooks use in the ``full`` profile) it trains one epoch of the ``auto`` profile's
recipe (``full``, with the batch capped on GPUs under 16 GB) with each precision branch forced in
turn -- ``bf16`` (skipped where the GPU has no bfloat16 units), ``fp16`` with a GradScaler,
``fp32`` -- then runs the airbench94 comparison of ``benchmarks/cifar_speed.py``, and writes one
JSON report: the GPU, each run's images/s, loss, accuracy, peak memory and the T4 estimate of
``lecture21.budget`` beside it, and cifar_speed's results.

    PYTHONPATH=src LECTURE21_DATA=... python benchmarks/gpu_check.py --out gpu_check.json

It needs what ``cifar_speed.py`` needs (torch, torchvision, numpy, pillow, ``lecture21``,
``airbench`` for the comparison, ``cifar10-jpg.tar.xz`` in ``LECTURE21_DATA``). On a machine
without CUDA it refuses, unless ``--force``: then it runs everything on a tiny budget (a few
dozen images, the 16-bit branches through CPU autocast) to check its own plumbing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

from lecture21 import budget
from lecture21.config import get_device, get_profile, seed_everything
from lecture21.data import ImageData, load_cifar10, synthetic_data
from lecture21.train import HyperParams, fit
from lecture21.train.precision import PRECISIONS, cuda_has_bf16

HERE = Path(__file__).resolve().parent
TINY = {"train_size": 64, "test_size": 32, "batch_size": 32}
TINY_CIFAR_SPEED = {"train_size": 16, "test_size": 16}  # ResNet-18 in seconds on a CPU


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"),
                        help="the JSON report (default: gpu_check.json)")
    parser.add_argument("--force", action="store_true",
                        help="run without CUDA, on a tiny budget (checks the script only)")
    parser.add_argument("--models", help="only these runs: comma-separated model names")
    parser.add_argument("--precisions", default="bf16,fp16,fp32",
                        help="precision branches to force, in order (default: all three)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per run (default: 1)")
    parser.add_argument("--skip-airbench", action="store_true",
                        help="do not run the cifar_speed.py comparison")
    return parser.parse_args(argv)


def machine(device: torch.device) -> dict:
    """What the report says about the machine: GPU, capability, memory, versions."""
    info = {"device": str(device), "torch": torch.__version__, "python": platform.python_version(),
            "cpu_threads": torch.get_num_threads()}
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        info.update(gpu=properties.name, capability=".".join(map(str, (properties.major,
                                                                         properties.minor))),
                    memory_gb=round(properties.total_memory / 1e9, 1),
                    bf16=cuda_has_bf16(device))
    return info


def selected_runs(models: str | None) -> list[budget.NotebookRun]:
    """The image runs of :data:`lecture21.budget.FULL_RUNS` (optionally only some models)."""
    runs = [r for r in budget.FULL_RUNS if r.data in ("cifar", "synthetic")]
    if models:
        wanted = {m.strip() for m in models.split(",") if m.strip()}
        unknown = wanted - {r.model for r in runs}
        if unknown:
            raise ValueError(f"--models: no image run of model(s) {sorted(unknown)}; "
                             f"known: {sorted({r.model for r in runs})}")
        runs = [r for r in runs if r.model in wanted]
    return runs


def train_once(run: budget.NotebookRun, data: ImageData, hp: HyperParams,
               device: torch.device, precision: str, warm_up: bool) -> dict:
    """One run in one precision: its measurements, or the error that stopped it."""
    row = {"notebook": run.notebook, "model": run.label, "precision": precision,
           "batch_size": hp.batch_size, "epochs": hp.epochs}
    if precision == "bf16" and device.type == "cuda" and not cuda_has_bf16(device):
        return row | {"skipped": "this GPU has no bfloat16 units (compute capability < 8.0)"}
    try:
        if warm_up:  # cuDNN autotuning and allocator growth, untimed
            seed_everything(hp.seed)
            fit(run.create(), data.subset(4 * hp.batch_size, 256), hp.replace(epochs=1),
                device=device, progress=False, precision=precision)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        seed_everything(hp.seed)
        model = run.create()
        result = fit(model, data, hp, device=device, progress=False, precision=precision)
    except (RuntimeError, ValueError) as error:  # out of memory, an unsupported kernel, ...
        if device.type == "cuda":
            torch.cuda.empty_cache()
        return row | {"error": f"{type(error).__name__}: {str(error)[:300]}"}
    last = result.history[-1]
    macs = budget.forward_macs(run.create(), run.example())
    flops = budget.training_flops(macs, len(data.train_x), hp.epochs)
    estimate = budget.estimate_seconds(flops, precision="fp32" if precision == "fp32" else "fp16")
    row.update(
        images_per_s=round(result.images_per_s, 1), train_time_s=round(result.train_time_s, 3),
        loss=last["loss"], train_acc=last["train_acc"], test_acc=last["test_acc"],
        finite=math.isfinite(last["loss"]),
        t4_estimate_s=float(f"{estimate:.3g}"),  # training only, no evaluation
    )
    if device.type == "cuda":
        row["peak_memory_gb"] = round(torch.cuda.max_memory_allocated(device) / 1e9, 3)
    return row


def run_cifar_speed(device: torch.device, tiny: bool) -> dict:
    """``benchmarks/cifar_speed.py`` (airbench94 vs our ResNet-9 / ResNet-18): its JSON."""
    spec = importlib.util.spec_from_file_location("cifar_speed", HERE / "cifar_speed.py")
    cifar_speed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cifar_speed)
    args = ["--device", str(device)]
    if tiny:
        args += ["--train-size", str(TINY_CIFAR_SPEED["train_size"]),
                 "--test-size", str(TINY_CIFAR_SPEED["test_size"]),
                 "--resnet9-epochs", "1", "--resnet18-epochs", "1"]
    if importlib.util.find_spec("airbench") is None:
        args.append("--skip-airbench")
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "cifar_speed.json"
        started = time.perf_counter()
        code = cifar_speed.main(args + ["--out", str(out)])
        record = json.loads(out.read_text()) if out.exists() else {}
    return {"args": args, "exit_code": code, "seconds": round(time.perf_counter() - started, 1),
            "airbench": "--skip-airbench" not in args, **record}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = get_device()
    if device.type != "cuda" and not args.force:
        print(f"gpu_check: no CUDA GPU here (device {device}); this script measures a GPU. "
              "--force runs it on a tiny budget to check the script itself.", file=sys.stderr)
        return 2
    try:
        precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
        unknown = [p for p in precisions if p not in PRECISIONS]
        if unknown or not precisions:
            raise ValueError(f"--precisions must name some of {sorted(PRECISIONS)}, "
                             f"got {args.precisions!r}")
        runs = selected_runs(args.models)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    tiny = device.type != "cuda"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    profile = get_profile("full" if tiny else "auto")  # auto on CUDA: full, batch fitted
    cifar = load_cifar10()
    if cifar.notice:
        print(cifar.notice, file=sys.stderr)
    datasets = {"cifar": cifar, "synthetic": None}
    report = {"machine": machine(device), "tiny": tiny, "profile": profile.name,
              "data": cifar.source, "synthetic_cifar": cifar.synthetic, "runs": []}
    print(json.dumps(report["machine"]), flush=True)
    for run in runs:
        if run.data == "synthetic" and datasets["synthetic"] is None:
            sizes = (TINY["train_size"], TINY["test_size"]) if tiny else (run.train_examples,
                                                                          run.test_examples)
            datasets["synthetic"] = synthetic_data(*sizes)
        data = datasets[run.data]
        overrides = {"epochs": args.epochs}
        if tiny:
            data = data.subset(TINY["train_size"], TINY["test_size"])
            overrides["batch_size"] = TINY["batch_size"]
        if "dropout" in run.options:  # notebook 1 trains these without augmentation
            overrides.update(crop_padding=0, flip=False, label_smoothing=0.0, tta_flip=False)
        elif not run.tta:
            overrides.update(tta_flip=False, flip=False)
        hp = HyperParams.for_profile(profile, recipe=run.model, **overrides)
        for precision in precisions:
            row = train_once(run, data, hp, device, precision, warm_up=not tiny)
            report["runs"].append(row)
            print(json.dumps(row), flush=True)
    if not args.skip_airbench:
        try:
            report["cifar_speed"] = run_cifar_speed(device, tiny)
        except Exception as error:  # the report is still written with what ran
            report["cifar_speed"] = {"error": f"{type(error).__name__}: {error}"}
    temporary = args.out.with_suffix(".tmp")
    temporary.write_text(json.dumps(report, indent=1, default=str))
    os.replace(temporary, args.out)
    print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
