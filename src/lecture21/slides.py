"""Reveal.js slideshows of the notebooks that work offline: ``python -m lecture21.slides OUT``.

Each markdown cell whose slide type is ``slide`` starts a slide of the lecture; ``subslide``
cells go below it, ``fragment`` cells appear on a click; cells tagged ``remove-input`` or
``remove-cell`` (the notebooks' asserts) are left out. Unlike nbconvert's default, which loads
reveal.js, jQuery, require.js and MathJax from CDNs, the decks load reveal.js (vendored by the
PyPI package ``sphinx-revealjs``) and MathJax 3 (vendored by ``django-static-mathjax``) from
``OUT/reveal.js`` and ``OUT/mathjax``, copied there by :func:`copy_assets`. The book build
writes the same decks from the notebooks it executed (``book/_ext/offline_assets.py``).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import re
import shutil
from pathlib import Path

import jupytext
import nbformat
from nbconvert import SlidesExporter
from nbconvert.preprocessors import ExecutePreprocessor, TagRemovePreprocessor

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
TEMPLATES = Path(__file__).resolve().parent / "templates"
#: MathJax files a page needs: the TeX-to-HTML component, its fonts and the TeX extensions it
#: loads on demand (the speech and SVG bundles are left out: 24 MB -> about 5 MB).
_MATHJAX_SKIP = ("sre", "*-full*.js", "mml-*.js", "*svg*", "node-main.js", "tex-mml-*.js")


def mathjax_dir() -> Path:
    """The MathJax 3 ``es5`` folder that ``django-static-mathjax`` installs."""
    import mathjax  # django-static-mathjax: MathJax 3.2.2 under mathjax/static/mathjax/es5

    folder = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (folder / "tex-chtml.js").is_file():
        raise FileNotFoundError(f"no MathJax 3 in {folder}: pip install django-static-mathjax")
    return folder


def revealjs_dir() -> Path:
    """The reveal.js folder (``dist``, ``plugin``) that ``sphinx-revealjs`` vendors."""
    import sphinx_revealjs

    folder = Path(sphinx_revealjs.__file__).parent / "_static" / "revealjs"
    if not (folder / "dist" / "reveal.js").is_file():
        raise FileNotFoundError(f"no reveal.js in {folder}: pip install sphinx-revealjs")
    return folder


def copy_mathjax(target: Path) -> Path:
    """Copy the MathJax files a page needs to ``target`` (``target/tex-chtml.js`` is loaded)."""
    target = Path(target)
    if not (target / "tex-chtml.js").is_file():
        shutil.copytree(mathjax_dir(), target, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(*_MATHJAX_SKIP))
    return target


def copy_assets(out_dir: Path) -> None:
    """Put reveal.js and MathJax beside the decks in ``out_dir``."""
    out_dir = Path(out_dir)
    if not (out_dir / "reveal.js" / "dist" / "reveal.js").is_file():
        source = revealjs_dir()
        for part in ("dist", "plugin", "LICENSE"):
            copy = shutil.copytree if (source / part).is_dir() else shutil.copy
            copy(source / part, out_dir / "reveal.js" / part)
    copy_mathjax(out_dir / "mathjax")


def slide_count(notebook: nbformat.NotebookNode) -> int:
    """How many top-level slides the notebook has (cells of slide type ``slide``)."""
    return sum(
        cell.metadata.get("slideshow", {}).get("slide_type") == "slide" for cell in notebook.cells
    )


def exporter() -> SlidesExporter:
    """nbconvert's slides exporter with the offline template and 1280x720 slides; the theme
    is ``white``, whose fonts ship with reveal.js (``simple``, nbconvert's default, imports
    Google Fonts)."""
    return SlidesExporter(template_name="reveal_offline", extra_template_basedirs=[
        str(TEMPLATES)], reveal_url_prefix="reveal.js", reveal_width="1280",
                          reveal_height="720", reveal_number="c/t", reveal_theme="white")


_ROLE = re.compile(r"\{(cite|cite:p|cite:t|glue:text|glue|doc|ref|numref)\}`([^`]*)`")


def _glued(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """The values a notebook glued (``results.glue``): name -> pasted text."""
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            text = [v for k, v in output.get("data", {}).items() if k.endswith("text/plain")]
            if name and text:  # stored quoted (results.glue_output): unquote as myst-nb does
                values[name] = raw = str(text[0])
                with contextlib.suppress(SyntaxError, ValueError):
                    quoted = ast.literal_eval(raw)
                    values[name] = quoted if isinstance(quoted, str) else raw  # "9,4" stays
    return values


def plain_myst(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """MyST roles that only the book renders, written as text a deck can show: citations as
    ``[key]``, glued numbers as their value, document links as their title."""
    glued = _glued(notebook)

    def replace(match: re.Match) -> str:
        role, body = match.groups()
        if role.startswith("cite"):
            return "[" + ", ".join(k.strip() for k in body.split(",")) + "]"
        if role.startswith("glue"):
            return glued.get(body.split(":")[-1].strip(), body)
        return re.sub(r"\s*<[^>]*>$", "", body) or body  # doc / ref: the link's title

    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = _ROLE.sub(replace, cell.source)
    return notebook


def write_deck(notebook: nbformat.NotebookNode, name: str, out_dir: Path) -> Path:
    """Write ``out_dir/<name>.slides.html`` for an (executed) notebook, assets beside it."""
    notebook = plain_myst(nbformat.from_dict(notebook))
    for cell in notebook.cells:  # a removed input leaves its outputs: drop the empty prompt
        if "remove-input" in cell.metadata.get("tags", []) and not cell.get("outputs"):
            cell.metadata.setdefault("tags", []).append("remove-cell")
    # Before the export: the slides exporter marks where sections open and close on the cells.
    remove = TagRemovePreprocessor(remove_cell_tags={"remove-cell"},
                                   remove_input_tags={"remove-input"},
                                   remove_all_outputs_tags={"remove-output"}, enabled=True)
    notebook, _ = remove.preprocess(notebook, {})
    html, _ = exporter().from_notebook_node(notebook, resources={"offline_prefix": ""})
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_assets(out_dir)
    target = out_dir / f"{name}.slides.html"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)
    return target


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
    return write_deck(notebook, path.stem, out_dir)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="output folder, e.g. _build/slides")
    parser.add_argument("--no-execute", action="store_true", help="do not run the notebooks")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.md")
    args = parser.parse_intermixed_args(argv)
    for path in args.notebooks or sorted(NOTEBOOKS.glob("*.md")):
        target = to_slides(path, args.out, execute=not args.no_execute)
        print(f"{target}: {slide_count(jupytext.read(path))} slides")


if __name__ == "__main__":
    main()
