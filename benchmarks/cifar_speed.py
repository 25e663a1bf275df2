"""CIFAR-10 speed benchmark of the training engine against airbench94 (issue 3; not a test).

In one run on one machine it trains

* airbench94 (Keller Jordan, "94% on CIFAR-10 in 3.29 seconds on a single GPU", 2024), the
  outside reference, from the PyPI package ``airbench`` (``pip install -e .[bench]``), fed our
  CIFAR-10 arrays written as the ``cifar10/train.pt`` / ``test.pt`` files it reads;
* the course's fastest residual network, Page's ResNet-9 (``resnet9``), with the engine's
  generic code, for several epoch budgets;
* the CIFAR variant of ResNet-18 (``resnet18``), likewise;

and prints a table: model, parameters, epochs, training time, images/s, test accuracy, and the
time at which each run first reached airbench94's accuracy.

    python benchmarks/cifar_speed.py                    # on a GPU: the whole of CIFAR-10
    python benchmarks/cifar_speed.py --out results.json

On a CPU it runs a reduced version (a small subset, one epoch each, airbench94's network and
recipe in float32 with CPU timers instead of CUDA events) and says so: its accuracies mean
nothing, its images/s are the CPU's. Every time in the table is training time without
evaluation (for airbench94: training and its whitening initialisation, as it times them); its
own total, which adds its final test-time-augmented evaluation, is printed below the table.

It needs only torch, torchvision, numpy, pillow, tqdm-free ``lecture21`` (``PYTHONPATH=src``),
``airbench`` (a pure-Python wheel) and ``LECTURE21_DATA`` pointing at a folder with
``cifar10-jpg.tar.xz``: that is all a bare GPU machine has to be given. Its defaults on a GPU
(the whole set; resnet9 for 4, 6, 8 and 10 epochs, resnet18 for 10 and 15 epochs) run in a few
minutes on an H200; ``--resnet9-epochs`` / ``--resnet18-epochs`` change the budgets.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import torch
from torch import nn

from lecture21.config import get_device, seed_everything
from lecture21.data import ImageData, load_cifar10
from lecture21.measure import count_parameters
from lecture21.models import create
from lecture21.train import HyperParams, fit

GPU_DEFAULTS = {"train_size": None, "test_size": None, "resnet9": "4,6,8,10",
                "resnet18": "10,15", "airbench_epochs": 9.9, "airbench_batch": 1024}
CPU_DEFAULTS = {"train_size": 512, "test_size": 256, "resnet9": "1", "resnet18": "1",
                "airbench_epochs": 1.0, "airbench_batch": 128}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="cuda or cpu (default: the best available)")
    parser.add_argument("--train-size", type=int, help="training images (GPU default: all)")
    parser.add_argument("--test-size", type=int, help="test images (GPU default: all)")
    parser.add_argument("--resnet9-epochs", help="comma-separated epoch budgets for resnet9")
    parser.add_argument("--resnet18-epochs", help="comma-separated epoch budgets for resnet18")
    parser.add_argument("--airbench-epochs", type=float, help="airbench94 epochs (9.9)")
    parser.add_argument("--target", type=float,
                        help="accuracy to reach (default: the one airbench94 reaches)")
    parser.add_argument("--skip-airbench", action="store_true")
    parser.add_argument("--compile", action="store_true", help="torch.compile our models")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    return parser.parse_args(argv)


# --- airbench94 --------------------------------------------------------------------------------

def write_airbench_files(data: ImageData, folder: Path) -> None:
    """``folder/cifar10/{train,test}.pt`` as airbench's CifarLoader reads them."""
    (folder / "cifar10").mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        torch.save({"images": getattr(data, f"{split}_x").contiguous(),
                    "labels": getattr(data, f"{split}_y"),
                    "classes": list(data.classes)}, folder / "cifar10" / f"{split}.pt")


class _CpuEvent:
    """Stands in for ``torch.cuda.Event(enable_timing=True)`` on a CPU."""

    def record(self) -> None:
        self.time = time.perf_counter()

    def elapsed_time(self, end: _CpuEvent) -> float:
        return 1e3 * (end.time - self.time)


@contextlib.contextmanager
def _airbench_on_cpu():
    """airbench94 is written for CUDA (``.cuda()``, ``.half()``, CUDA events, ``gpu=0``):
    run its network and recipe unchanged but in float32 on the CPU, with CPU timers."""
    import airbench.utils as utils

    class CpuLoader(utils.CifarLoader):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **{**kwargs, "gpu": "cpu"})
            self.images = self.images.float()

    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(nn.Module, "cuda", lambda self, *a, **k: self))
        stack.enter_context(mock.patch.object(nn.Module, "half", lambda self: self))
        stack.enter_context(mock.patch.object(torch.cuda, "Event", lambda **k: _CpuEvent()))
        stack.enter_context(mock.patch.object(torch.cuda, "synchronize", lambda *a: None))
        stack.enter_context(mock.patch.object(utils, "CifarLoader", CpuLoader))
        yield CpuLoader


def _parse_airbench_rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and re.fullmatch(r"\d+|eval", cells[1]):
            rows.append(cells)
    return rows


def run_airbench(data: ImageData, epochs: float, batch_size: int, cuda: bool) -> dict:
    """Train airbench94 once (after its own warmup on CUDA); its accuracy and time."""
    import airbench
    from airbench.lib_airbench94 import hyp, make_net94

    previous = Path.cwd()
    with tempfile.TemporaryDirectory() as scratch:
        write_airbench_files(data, Path(scratch))
        os.chdir(scratch)  # airbench reads its test set from ./cifar10
        try:
            with (contextlib.nullcontext(airbench.CifarLoader) if cuda
                  else _airbench_on_cpu()) as loader_class:
                def loader():
                    return loader_class("cifar10", train=True, batch_size=batch_size,
                                        aug=hyp["aug"], altflip=True)

                if cuda:
                    with contextlib.redirect_stdout(io.StringIO()):
                        airbench.warmup94(loader(), epochs=epochs)
                captured = io.StringIO()
                with contextlib.redirect_stdout(captured):
                    model = airbench.train94(loader(), epochs=epochs)
                print(captured.getvalue())
                test = loader_class("cifar10", train=False, batch_size=2000)
                accuracy = airbench.evaluate(model, test, tta_level=hyp["net"]["tta_level"])
                parameters = count_parameters(make_net94())
        finally:
            os.chdir(previous)
    rows = _parse_airbench_rows(captured.getvalue())
    total = float(rows[-1][6])  # its own figure: training + its final TTA evaluation
    seconds = max(float(r[6]) for r in rows if r[1] != "eval")  # training only, like ours
    history = [{"epoch": int(r[1]), "test_acc": float(r[4]), "wall_time": float(r[6])}
               for r in rows if r[1] != "eval"]
    return {"model": "airbench94", "parameters": parameters, "epochs": epochs,
            "time_s": seconds, "images_per_s": epochs * len(data.train_x) / seconds,
            "accuracy": accuracy, "history": history, "total_with_eval_s": total}


# --- the engine's models -------------------------------------------------------------------------

def run_ours(name: str, epochs: int, data: ImageData, device: torch.device, args) -> dict:
    profile = "full" if device.type == "cuda" else "smoke"
    hp = HyperParams.for_profile(profile, recipe=name, epochs=epochs, compile=args.compile,
                                 seed=args.seed)
    if device.type == "cuda":  # warm cuDNN autotuning (and compilation) up, untimed
        seed_everything(args.seed)
        fit(create(name), data.subset(4 * hp.batch_size, 1000), hp.replace(epochs=1),
            device=device, progress=False)
    seed_everything(args.seed)
    model = create(name)
    result = fit(model, data, hp, device=device, progress=False)
    return {"model": name, "parameters": count_parameters(model), "epochs": epochs,
            "time_s": result.train_time_s, "images_per_s": result.images_per_s,
            "accuracy": result.test_accuracy,
            "history": [{k: r[k] for k in ("epoch", "test_acc", "wall_time")}
                        for r in result.history],
            "hp": {"batch_size": hp.batch_size, "lr": hp.lr}}


def time_to(target: float | None, history: list[dict]) -> float | None:
    """Training time at the first evaluated epoch whose accuracy reached ``target``."""
    if target is None:
        return None
    for row in history:
        if row["test_acc"] is not None and row["test_acc"] >= target:
            return row["wall_time"]
    return None


def table(results: list[dict], target: float | None) -> str:
    head = ("model", "params", "epochs", "time, s", "images/s", "test acc",
            f"time to {target:.2%}" if target is not None else "time to target")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        reached = time_to(target, r["history"])
        if r["model"] == "airbench94" and target is not None and r["accuracy"] >= target:
            reached = r["time_s"]  # its target is its own final (TTA) accuracy
        cells = (r["model"], f"{r['parameters']:,}", f"{r['epochs']:g}", f"{r['time_s']:.2f}",
                 f"{r['images_per_s']:,.0f}", f"{r['accuracy']:.4f}",
                 "-" if reached is None else f"{reached:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = get_device(args.device)
    cuda = device.type == "cuda"
    defaults = GPU_DEFAULTS if cuda else CPU_DEFAULTS
    if cuda:
        torch.backends.cudnn.benchmark = True
    data = load_cifar10()
    if data.notice:
        print(data.notice, file=sys.stderr)
    train_size = args.train_size or defaults["train_size"]
    test_size = args.test_size or defaults["test_size"]
    data = data.subset(train_size, test_size, seed=args.seed)
    gpu = f" ({torch.cuda.get_device_name(device)})" if cuda else ""
    print(f"device: {device}{gpu}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"data: {data.source}; {len(data.train_x)} train / {len(data.test_x)} test")
    if not cuda:
        print("NOTE: no GPU -- this is the REDUCED CPU version (small subset, short budgets, "
              "airbench94 in float32 on the CPU); accuracies mean nothing here.")

    results = []
    target = args.target
    if not args.skip_airbench:
        epochs = args.airbench_epochs or defaults["airbench_epochs"]
        batch = min(defaults["airbench_batch"], len(data.train_x))
        results.append(run_airbench(data, epochs, batch, cuda))
        target = target if target is not None else results[-1]["accuracy"]
    for name in ("resnet9", "resnet18"):
        budgets = getattr(args, f"{name}_epochs") or defaults[name]
        for epochs in (int(e) for e in budgets.split(",")):
            results.append(run_ours(name, epochs, data, device, args))
            print(f"{name} {epochs} epochs: {results[-1]['accuracy']:.4f} in "
                  f"{results[-1]['time_s']:.2f} s", flush=True)

    print()
    print(table(results, target))
    if target is not None and not args.skip_airbench:
        reference = results[0]["time_s"]
        print(f"airbench94's own total (training + its TTA evaluation): "
              f"{results[0]['total_with_eval_s']:.2f} s; ratios below use its training time")
        for name in ("resnet9", "resnet18"):
            times = [t for r in results if r["model"] == name
                     if (t := time_to(target, r["history"])) is not None]
            if times:
                print(f"{name}: reached {target:.2%} in {min(times):.2f} s = "
                      f"{min(times) / reference:.2f} x airbench94's {reference:.2f} s")
            else:
                print(f"{name}: did not reach {target:.2%} in any budget")
    if args.out is not None:
        record = {"device": str(device) + gpu, "reduced": not cuda, "target": target,
                  "data": data.source, "train_size": len(data.train_x),
                  "test_size": len(data.test_x), "results": results}
        temporary = args.out.with_suffix(".tmp")
        temporary.write_text(json.dumps(record, indent=1))
        os.replace(temporary, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
