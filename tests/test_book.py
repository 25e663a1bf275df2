"""The main job: `jupyter-book build -W --keep-going .` executes every notebook and publishes it.

The build runs once per test session, after the notebooks' nbval run: a notebook nbval executed
in this run (every cell passed) is built from its executed .ipynb (see ``conftest.py``), so no
notebook is executed twice; one that was not (``pytest tests/test_book.py`` alone) is executed
by the build. The results page always executes: it reads the results store at build time.
Jupyter Book 1.x silently skips Jupytext markdown notebooks without `nb_custom_formats`, and only
warns about a failing cell without `-W`: so the test checks the outputs, not only the exit code.
"""

import re
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [
    entry["file"]
    for part in yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))["parts"]
    for entry in part["chapters"]
    if entry["file"].startswith("notebooks/")
]


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
        if page.name == "results.md":  # a notebook page: it reads the results store
            continue
        cells = jupytext.read(page).cells
        assert all(c.cell_type != "code" for c in cells), page.name


def _tables(soup) -> list[list[list[str]]]:
    """Every table of a page as rows of cell texts (header rows included)."""
    return [[[cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"])]
             for row in table.find_all("tr")] for table in soup.find_all("table")]


def test_results_page_shows_the_notebooks_numbers(built_book):
    """The results page is generated from the store: its runs and tables are the ones the
    notebooks of this build show, in the profile of this build."""
    from lecture21.config import get_profile

    page = BeautifulSoup((built_book / "book" / "results.html").read_text(encoding="utf-8"),
                         "html.parser")
    text = page.get_text(" ", strip=True)
    assert f"Профиль этой сборки: {get_profile().name}" in text
    assert "Числа ниже получены: профиль" in text
    assert "Run Time (s)" in text, "myst-nb's table of the notebooks' execution times"
    notebooks = {Path(n).name: (built_book / f"{n}.html").read_text(encoding="utf-8")
                 for n in NOTEBOOKS}
    runs, *tables = _tables(page)
    header = runs[0]
    assert {"тетрадь", "модель", "точность (тест)", "обучение, с"} <= set(header)
    checked_runs = 0
    for row in runs[1:]:
        cells = dict(zip(header, row))
        if cells["тетрадь"] in notebooks:  # the accuracy the notebook printed or tabulated
            assert cells["точность (тест)"] in notebooks[cells["тетрадь"]], cells
            checked_runs += 1
    assert checked_runs >= len(NOTEBOOKS), "every notebook trains at least one model"
    assert tables, "the notebooks record their measurement tables"
    notebook_tables = {name: _tables(BeautifulSoup(html, "html.parser"))
                       for name, html in notebooks.items()}
    section = next(h.find_parent("section") for h in page.find_all("h2")
                   if h.get_text(strip=True).startswith("Таблицы тетрадей"))
    assert section.find_all("table"), "the notebooks' tables are on the results page"
    for table in section.find_all("table"):
        caption = table.find("caption").get_text(" ", strip=True)  # "<notebook>: <caption>"
        notebook = caption.split(":", 1)[0]
        cells = [[c.get_text(" ", strip=True) for c in r.find_all(["th", "td"])]
                 for r in table.find_all("tr")]
        assert cells in notebook_tables[notebook], (caption, cells[:3])


def test_make_slides_writes_a_deck_of_each_course_notebook(executed_notebooks, tmp_path):
    """`make slides` (``python -m lecture21.slides OUT``) on the course's own notebooks, as nbval
    executed them in this run (``--no-execute``: the same outputs, not a second execution): a
    deck each, with its outputs, and no assert and no MyST role left on a slide."""
    if not executed_notebooks:
        pytest.skip("no notebook was executed in this run (pytest tests/test_book.py alone)")
    from lecture21 import slides

    slides.main([str(tmp_path), "--no-execute", *map(str, executed_notebooks.values())])
    for stem in executed_notebooks:
        deck = (tmp_path / f"{stem}.slides.html").read_text(encoding="utf-8")
        shown = deck.split('<div class="slides">', 1)[1]
        assert "jp-OutputArea-output" in shown, f"{stem}: no outputs on its slides"
        assert "assert " not in shown, f"{stem}: an assert cell is on a slide"
        assert not re.search(r"\{(cite|glue|doc)[:\w]*\}`", shown), f"{stem}: raw MyST role"
