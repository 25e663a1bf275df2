"""``python -m lecture21.plots DIR``: redraw every figure registered in ``FIGURES`` into DIR.

Each topic file of this package may define ``FIGURES = {"file-name": function}``, where the
function takes no arguments and returns a matplotlib figure drawn from the model objects.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import lecture21.plots as package  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "img")
    out.mkdir(parents=True, exist_ok=True)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for name, draw in getattr(module, "FIGURES", {}).items():
            fig = draw()
            path = out / f"{name}.png"
            fig.savefig(path, dpi=120, bbox_inches="tight")
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
