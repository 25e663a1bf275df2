"""The main job: `jupyter-book build -W --keep-going .` executes every notebook and publishes it.

The build runs once per test session (it executes all notebooks, so it is the slowest test).
Jupyter Book 1.x silently skips Jupytext markdown notebooks without `nb_custom_formats`, and only
warns about a failing cell without `-W`: so the test checks the outputs, not only the exit code.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [
    entry["file"]
    for part in yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))["parts"]
    for entry in part["chapters"]
    if entry["file"].startswith("notebooks/")
]


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """Build a copy of the book's sources (so the working tree's _build is left alone)."""
    source = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "_toc.yml", "book", "notebooks"):
        path = ROOT / name
        copy = shutil.copytree if path.is_dir() else shutil.copy
        copy(path, source / name)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    # A non-inline matplotlib backend in the kernel's environment would draw no figures at all.
    env.pop("MPLBACKEND", None)
    run = subprocess.run(
        [str(jupyter_book), "build", "-W", "--keep-going", str(source)],
        capture_output=True, text=True, env=env, timeout=3600,
    )
    assert run.returncode == 0, f"book build failed:\n{run.stdout[-6000:]}\n{run.stderr[-6000:]}"
    return source / "_build" / "html"


def test_every_notebook_is_in_the_table_of_contents():
    on_disk = {f"notebooks/{p.stem}" for p in (ROOT / "notebooks").glob("*.md")}
    assert on_disk == set(NOTEBOOKS)


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_page_shows_executed_outputs(built_book, notebook):
    html = (built_book / f"{notebook}.html").read_text(encoding="utf-8")
    assert "Профиль:" in html, "the first output (profile, device, data) is missing"
    figures = re.findall(r'<img [^>]*src="[^"]*_images/[^"]*\.png"', html)
    assert len(figures) >= 2, f"{len(figures)} figures rendered: matplotlib output is missing"
    assert "Traceback" not in html


def test_colab_button_opens_the_published_ipynb(built_book):
    for notebook in NOTEBOOKS:
        assert (built_book / "_sources" / f"{notebook}.ipynb").is_file()
        html = (built_book / f"{notebook}.html").read_text(encoding="utf-8")
        assert f"/blob/gh-pages/_sources/{notebook}.ipynb" in html


def test_bibliography_page_lists_the_lecture_works(built_book):
    html = (built_book / "book" / "bibliography.html").read_text(encoding="utf-8")
    for title in ("Gradient-based learning", "Going deeper with convolutions", "ShuffleNet"):
        assert title.lower() in html.lower()


def test_prose_pages_have_no_code_cells():
    """With nb_custom_formats every .md is read as a notebook: a ```bash fence in a prose page
    would become a code cell without a kernel (a build warning). Use ```{code-block} bash."""
    import jupytext

    for page in (ROOT / "book").glob("*.md"):
        cells = jupytext.read(page).cells
        assert all(c.cell_type != "code" for c in cells), page.name
