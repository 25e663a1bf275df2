"""The full run: every notebook executed in the ``full`` profile on a GPU (``make full``).

``python -m lecture21.full OUT [--force] [--profile P] [NOTEBOOK ...]`` executes the notebooks
in order (the conclusion last: it reads what the others recorded), writes each executed
notebook to ``OUT/<name>.ipynb``, copies the results store to ``OUT/results.jsonl`` and the
times to ``OUT/times.json``, and prints each notebook's wall time. Without a CUDA GPU it refuses
(the full profile trains on the whole CIFAR-10 for tens of epochs: days on a CPU) unless
``--force``; ``--force --profile smoke`` checks the plumbing on a CPU in minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import jupytext
import nbformat
import torch
from nbconvert.preprocessors import ExecutePreprocessor

from lecture21.config import PROFILES

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def refuse_without_gpu(force: bool) -> None:
    """Raise SystemExit with a clear message when there is no CUDA GPU and ``force`` is off."""
    if not force and not torch.cuda.is_available():
        raise SystemExit(
            "make full: no CUDA GPU here. The full profile trains every model on the whole "
            "CIFAR-10 for its full epoch budget: hours on a GPU, days on a CPU. Run it on a "
            "machine with a GPU, or force it (FORCE=1 / --force; with --profile smoke it only "
            "checks the plumbing)."
        )


def execute(path: Path, out_dir: Path, timeout: int) -> tuple[float, str | None]:
    """Execute one notebook in its folder; write it (also when a cell failed) to ``out_dir``.
    Returns the wall time in seconds and the error's first line, or None."""
    notebook = jupytext.read(path)
    start, error = time.perf_counter(), None
    try:
        ExecutePreprocessor(timeout=timeout, kernel_name="python3").preprocess(
            notebook, {"metadata": {"path": str(path.parent)}})
    except Exception as failure:  # a failing cell, a timeout, a dead kernel: note it, go on
        lines = str(failure).strip().splitlines() or [type(failure).__name__]
        error = f"{type(failure).__name__}: {lines[-1][:300]}"
    seconds = time.perf_counter() - start
    nbformat.write(notebook, str(out_dir / f"{path.stem}.ipynb"))
    return seconds, error


def run(out_dir: Path, notebooks: list[Path], profile: str = "full", force: bool = False,
        timeout: int = 4 * 3600) -> dict[str, dict]:
    """Execute ``notebooks`` in ``profile``; returns ``{name: {"seconds", "error"}}``."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {profile!r}")
    missing = [str(p) for p in notebooks if not Path(p).is_file()]
    if missing:
        raise ValueError(f"notebooks must be existing files, got {missing}")
    refuse_without_gpu(force)
    os.environ["LECTURE21_PROFILE"] = profile  # the kernels inherit it
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    from lecture21 import results

    times: dict[str, dict] = {}
    for path in notebooks:
        seconds, error = execute(Path(path), out_dir, timeout)
        times[Path(path).stem] = {"seconds": round(seconds, 1), "error": error}
        print(f"{Path(path).stem}: {seconds:.1f} s" + (f"  FAILED: {error}" if error else ""),
              flush=True)
    if results.store_path().is_file():
        shutil.copy(results.store_path(), out_dir / "results.jsonl")
    (out_dir / "times.json").write_text(json.dumps(times, indent=1), encoding="utf-8")
    total = sum(t["seconds"] for t in times.values())
    print(f"total: {total:.1f} s, profile {profile}, device "
          f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'}")
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="output folder, e.g. _build/full")
    parser.add_argument("--force", action="store_true", help="run without a CUDA GPU")
    parser.add_argument("--profile", default="full", choices=sorted(PROFILES))
    parser.add_argument("--timeout", type=int, default=4 * 3600, help="seconds per cell")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.md")
    args = parser.parse_intermixed_args(argv)
    times = run(args.out, args.notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.md")),
                args.profile, args.force, args.timeout)
    sys.exit(1 if any(t["error"] for t in times.values()) else 0)


if __name__ == "__main__":
    main()
