"""``make weights``: fetch once every pretrained file the book uses into the weights folder.

``python -m lecture21.pretrained [NAME ...] [--all]``. Without names: :data:`BOOK_MODELS` (our
models whose official weights a notebook loads, through the reference their model file
declares) and :data:`BOOK_TIMM` (timm models a notebook shows as they are). ``--all`` takes
every model of the registry that declares weights. Files already present are not fetched again;
each line says what was fetched or found, and where.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lecture21.config import weights_dir
from lecture21.models.registry import entry, with_references
from lecture21.pretrained import load, timm_model
from lecture21.pretrained.weights import WeightsUnavailable, local_file, stored_file

#: Our models whose official weights the notebooks load (``pretrained.load``).
BOOK_MODELS = ("alexnet", "googlenet", "vgg16", "resnet50", "resnext50_32x4d", "xception")
#: timm models the notebooks show with their own weights (``pretrained.timm_model``).
BOOK_TIMM = ("resnet50",)


def _size(path: Path | None) -> str:
    return f"{path.stat().st_size / 2**20:,.0f} МБ" if path is not None else "?"


def _timm_tag(name: str) -> str:
    import timm.models

    cfg = timm.models.get_pretrained_cfg(name)
    if cfg is None:
        raise ValueError(f"name must be a timm model with pretrained weights, got {name!r}")
    return name if "." in name else f"{name}.{cfg.tag}" if cfg.tag else name


def fetch(name: str) -> str:
    """Make the weights of ``name`` (our registry name, or ``timm:<name>``) available offline;
    returns the line that says what happened. Raises :class:`WeightsUnavailable`."""
    if name.startswith("timm:"):
        tag = _timm_tag(name.removeprefix("timm:"))
        source, weights, what = "timm", tag, f"timm '{tag}'"
        local = local_file((tag,), None)
    else:
        reference = entry(name).reference()
        source, weights = reference.source, reference.weights or reference.name
        what = f"{name} ({source} '{weights}')"
        local = local_file((name, weights), None)
    found = local or stored_file(source, weights)
    if found is not None:
        return f"есть:    {what}: {found} ({_size(found)})"
    if name.startswith("timm:"):
        timm_model(weights)
    else:
        load(name)
    found = stored_file(source, weights)
    return f"скачано: {what}: {found} ({_size(found)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lecture21.pretrained",
        description="Fetch the pretrained weights the book uses into the weights folder.",
    )
    parser.add_argument("names", nargs="*", help="our model names, or timm:<name>")
    parser.add_argument("--all", action="store_true", help="every model that declares weights")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.names:
        names = list(args.names)
    elif args.all:
        names = [n for n in with_references() if entry(n).reference().weights]
        names += [f"timm:{n}" for n in BOOK_TIMM]
    else:
        names = [*BOOK_MODELS, *(f"timm:{n}" for n in BOOK_TIMM)]
    print(f"Папка весов: {weights_dir()}")
    failed = 0
    for name in names:
        try:
            print(fetch(name), flush=True)
        except (WeightsUnavailable, ValueError) as error:
            print(f"ошибка:  {name}: {error}", flush=True)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
