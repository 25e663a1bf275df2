"""Reveal.js slideshows of the notebooks: ``python -m lecture21.slides OUT [--no-execute]``.

Each markdown cell whose slide type is ``slide`` starts a slide of the lecture; ``subslide``
cells go below it, ``fragment`` cells appear on a click. In JupyterLab the same notebooks are
shown as slides by jupyterlab-rise, which needs no network; the HTML files written here load
reveal.js from a CDN (nbconvert's default), so they need one when opened.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jupytext
import nbformat
from nbconvert import SlidesExporter
from nbconvert.preprocessors import ExecutePreprocessor

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def slide_count(notebook: nbformat.NotebookNode) -> int:
    """How many top-level slides the notebook has (cells of slide type ``slide``)."""
    return sum(
        cell.metadata.get("slideshow", {}).get("slide_type") == "slide" for cell in notebook.cells
    )


def to_slides(path: Path, out_dir: Path, execute: bool = True, timeout: int = 1800) -> Path:
    """Write ``out_dir/<name>.slides.html`` for the Jupytext notebook at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path must be an existing notebook file, got {str(path)!r}")
    notebook = jupytext.read(path)
    if execute:
        ExecutePreprocessor(timeout=timeout).preprocess(
            notebook, {"metadata": {"path": str(path.parent)}}
        )
    html, _ = SlidesExporter().from_notebook_node(notebook)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{path.stem}.slides.html"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="output folder, e.g. _build/slides")
    parser.add_argument("--no-execute", action="store_true", help="do not run the notebooks")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.md")
    args = parser.parse_args(argv)
    for path in args.notebooks or sorted(NOTEBOOKS.glob("*.md")):
        target = to_slides(path, args.out, execute=not args.no_execute)
        print(f"{target}: {slide_count(jupytext.read(path))} slides")


if __name__ == "__main__":
    main()
