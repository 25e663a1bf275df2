"""Where a notebook's time goes: run one Jupytext notebook and print its slowest cells (not a test).

``pytest --durations`` cannot see cells; nbclient records when each cell started and finished.
The notebook runs once, top to bottom, in a fresh kernel with the current environment (set
``LECTURE21_PROFILE``, ``LECTURE21_CACHE``...), as nbval runs it; a failing cell is reported and
the run goes on, so the total is the whole notebook's.

    LECTURE21_PROFILE=quick python benchmarks/notebook_cells.py notebooks/01_cnn_basics.md
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path

import jupytext
import nbclient


def _seconds(cell) -> float | None:
    timing = cell.get("metadata", {}).get("execution", {})
    if "iopub.execute_input" not in timing or "shell.execute_reply" not in timing:
        return None
    start, end = (datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                  for k in ("iopub.execute_input", "shell.execute_reply"))
    return (end - start).total_seconds()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--top", type=int, default=10, help="how many cells to list")
    args = parser.parse_args(argv)
    nb = jupytext.read(args.notebook)
    client = nbclient.NotebookClient(
        nb, timeout=3600, kernel_name="python3", record_timing=True, allow_errors=True,
        resources={"metadata": {"path": str(args.notebook.resolve().parent)}},
    )
    started = time.perf_counter()
    client.execute()
    total = time.perf_counter() - started
    cells = [(s, i, c) for i, c in enumerate(nb.cells) if (s := _seconds(c)) is not None]
    for seconds, index, cell in sorted(cells, key=lambda row: -row[0])[:args.top]:
        first = next(iter(cell.source.strip().splitlines()), "")
        print(f"{seconds:7.1f} s  cell {index:3d}  {first[:70]}")
    errors = [(i, o) for i, c in enumerate(nb.cells) for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    for index, output in errors:
        print(f"error in cell {index}: {output['ename']}: {output['evalue'][:200]}")
    print(f"{args.notebook.name}: {total:.1f} s in all, cells {sum(s for s, _, _ in cells):.1f} s")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
