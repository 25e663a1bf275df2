"""Command line: train any registered model on CIFAR-10 and print one results line.

``python -m lecture21.train MODEL [--epochs N] [--profile P] [--batch-size B] [--compile]
[--precision P] [--out DIR]``. The profile's subset of CIFAR-10 is used (the whole set in
``full``); the run is always trained (the cache of ``train_or_load`` is not used), and with
``--out`` its checkpoint and a JSON record of the results are kept in DIR (a run interrupted
there resumes, saying so).

Every user error (an unknown model, a bad option, ``--out`` that is a file or cannot be written,
an ``--out`` holding a run with other settings, broken data, a diverged run) prints one line
``error: ...`` to stderr and exits with status 2 (1 for a diverged run); paths are checked
before the data are read and before anything is trained.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch

from lecture21.config import (
    cache_dir,
    data_dir,
    get_device,
    get_profile,
    seed_everything,
)
from lecture21.helpers import atomic_write
from lecture21.measure import count_parameters
from lecture21.models import available, create, entry
from lecture21.train.precision import choose_precision


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lecture21.train",
        description="Train a registered model of the course on CIFAR-10 and print the results.",
    )
    parser.add_argument("model", help=f"registered model name ({', '.join(available())})")
    parser.add_argument("--epochs", type=int, help="epochs (default: the profile's)")
    parser.add_argument(
        "--profile", help="smoke, quick, full or auto (default: $LECTURE21_PROFILE)"
    )
    parser.add_argument("--batch-size", type=int, help="batch size (default: the profile's)")
    parser.add_argument("--lr", type=float, help="peak learning rate (default: the recipe's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--device",
                        help="cpu, cuda, cuda:1, mps (default: $LECTURE21_DEVICE or best)")
    parser.add_argument("--precision",
                        help="bf16, fp16, fp32 or auto (default: $LECTURE21_PRECISION or auto)")
    parser.add_argument("--out", type=Path, help="keep the checkpoint and results.json here")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def results_line(result, name: str, parameters: int) -> str:
    """``model=... params=... epochs=... wall=...s images/s=... test_acc=... device=...``."""
    return (
        f"model={name} params={parameters:,} epochs={result.epochs} "
        f"wall={result.train_time_s:.1f}s images/s={result.images_per_s:,.0f} "
        f"test_acc={result.test_accuracy:.4f} device={result.device}"
    )


def check_out(out: Path) -> None:
    """``--out`` must be a folder this process can write into (created if missing)."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out must be a folder, got the file {str(out)!r}")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise ValueError(f"--out {str(out)!r} is not a writable folder: "
                         f"{error.strerror or error}") from error


def check_resume(checkpoint: Path, hp) -> str | None:
    """What an existing checkpoint in ``--out`` means for this run: ``"resumed from epoch N"``,
    ``"finished run loaded"``, or a ``ValueError`` when it holds a run with other settings."""
    from lecture21.train.checkpoints import load_checkpoint

    if not checkpoint.exists():
        return None
    state = load_checkpoint(checkpoint)
    changed = sorted(k for k, v in asdict(hp).items() if state["hp"].get(k) != v)
    if changed:
        raise ValueError(
            f"{checkpoint} holds a run with other settings ({', '.join(changed)}); "
            "choose another --out or delete that file"
        )
    done = state.get("epoch", len(state.get("history", ())))
    return "finished run loaded" if done >= hp.epochs else f"resumed from epoch {done}"


def main(argv: list[str] | None = None) -> int:
    from lecture21.data import load_cifar10
    from lecture21.train import HyperParams, TrainingDiverged, fit
    from lecture21.train.recipes import recipe_for

    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        entry(args.model)  # an unknown name fails before the data are read
        profile = get_profile(args.profile)
        device = get_device(args.device)
        precision = choose_precision(device, args.precision)
        overrides = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size),
                                       ("lr", args.lr)) if v is not None}
        hp = HyperParams.for_profile(profile, recipe=args.model, seed=args.seed,
                                     compile=args.compile, **overrides)
        data_dir(), cache_dir()  # every path before the data are read
        resumed = None
        if args.out is not None:
            check_out(args.out)
            resumed = check_resume(args.out / f"{args.model}-{profile.name}.pt", hp)
        data = load_cifar10()
        if data.notice:
            print(data.notice, file=sys.stderr)
        recipe = recipe_for(args.model)
        data = data.subset(*recipe.sizes(profile))
        seed_everything(hp.seed)
        options = recipe.for_profile(profile.name).options
        model = create(args.model, num_classes=data.num_classes, **options)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick kernels
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.out if args.out is not None else Path(scratch)
        checkpoint = folder / f"{args.model}-{profile.name}.pt"
        if resumed is not None:
            print(f"{checkpoint}: {resumed}", file=sys.stderr)
        try:
            result = fit(model, data, hp, device=device, progress=not args.no_progress,
                         checkpoint_path=checkpoint, precision=precision)
        except TrainingDiverged as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        except ValueError as error:  # a checkpoint written for other data, ...
            print(f"error: {error}", file=sys.stderr)
            return 2
        line = results_line(result, args.model, count_parameters(model))
        line += f" profile={profile.name} precision={precision.name}"
        line += f" train_images={len(data.train_x)}"
        line += f" data={'synthetic' if data.synthetic else 'cifar10'}"
        print(line)
        if args.out is not None:
            record = {"line": line, "history": result.history, "hp": vars(args) | {
                "model": args.model, "out": str(args.out)}}
            text = json.dumps(record, indent=1, default=str)
            atomic_write(folder / "results.json", lambda temporary: temporary.write_text(text))
    return 0
