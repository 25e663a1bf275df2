"""Every notebook is a sensible RISE / reveal.js slideshow: one slide per lecture slide region."""

import re
from pathlib import Path

import jupytext
import pytest

from lecture21 import slides

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.md"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_slide_structure(path):
    notebook = jupytext.read(path)
    assert "jupytext" in notebook.metadata, "no jupytext header: nbval and the book would skip it"
    assert notebook.cells[0].metadata.get("slideshow", {}).get("slide_type") == "slide"
    assert slides.slide_count(notebook) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS[:1], ids=lambda p: p.stem)
def test_nbconvert_gives_one_slide_per_region(path, tmp_path):
    html = slides.to_slides(path, tmp_path, execute=False).read_text(encoding="utf-8")
    # reveal.js: each slide is a top-level <section>, its sub-slides are nested sections.
    body = html[html.index('<div class="slides">'):]
    depth, top_level = 0, 0
    for tag in re.findall(r"<section|</section>", body):
        if tag == "<section":
            top_level += depth == 0
            depth += 1
        else:
            depth -= 1
    assert top_level == slides.slide_count(jupytext.read(path))


def test_missing_notebook_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="path must be an existing notebook file"):
        slides.to_slides(tmp_path / "nope.md", tmp_path)


def test_decks_load_nothing_from_another_host(tmp_path):
    html = slides.to_slides(NOTEBOOKS[0], tmp_path, execute=False).read_text(encoding="utf-8")
    loaded = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html)
    assert loaded and not [u for u in loaded if "://" in u or u.startswith("//")], loaded
    for url in loaded:
        assert (tmp_path / url).is_file(), url  # reveal.js, its theme, MathJax beside the deck
        if url.endswith(".css"):  # a theme may import web fonts
            imports = re.findall(r"@import url\(([^)]+)\)", (tmp_path / url).read_text())
            assert not [i for i in imports if "://" in i], (url, imports)
    assert "assert " not in html.split('<div class="slides">')[1], "remove-input cells shown"


def test_myst_roles_become_text_on_slides():
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("CIFAR-10 {cite}`krizhevsky2009cifar, lecun1998gradient`: "
                                      "{glue:text}`acc` точность, см. {doc}`Основы <01_a>`."),
        nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output(
            "display_data", data={"application/papermill.record/text/plain": "61,1"},
            metadata={"scrapbook": {"name": "acc"}})]),
    ])
    got = slides.plain_myst(notebook).cells[0].source
    assert got == ("CIFAR-10 [krizhevsky2009cifar, lecun1998gradient]: 61,1 точность, "
                   "см. Основы.")
