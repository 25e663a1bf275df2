"""Command line: train any registered model on CIFAR-10 and print one results line.

``python -m lecture21.train MODEL [--epochs N] [--profile P] [--batch-size B] [--compile]
[--precision P] [--out DIR]``. The profile's subset of CIFAR-10 is used (the whole set in
``full``); the run is always trained (the cache of ``train_or_load`` is not used), and with
``--out`` its checkpoint and a JSON record of the results are kept in DIR (a run interrupted
there resumes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import torch

from lecture21.config import get_device, get_profile, seed_everything
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


def main(argv: list[str] | None = None) -> int:
    from lecture21.data import load_cifar10
    from lecture21.train import HyperParams, fit
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
        if args.out is None or not checkpoint.exists():
            checkpoint.unlink(missing_ok=True)
        result = fit(model, data, hp, device=device, progress=not args.no_progress,
                     checkpoint_path=checkpoint, precision=precision)
        line = results_line(result, args.model, count_parameters(model))
        line += f" profile={profile.name} precision={precision.name}"
        line += f" train_images={len(data.train_x)}"
        line += f" data={'synthetic' if data.synthetic else 'cifar10'}"
        print(line)
        if args.out is not None:
            record = {"line": line, "history": result.history, "hp": vars(args) | {
                "model": args.model, "out": str(args.out)}}
            tmp = folder / "results.json.tmp"
            tmp.write_text(json.dumps(record, indent=1, default=str))
            os.replace(tmp, folder / "results.json")
    return 0
