"""Every notebook is a sensible RISE / reveal.js slideshow: one slide per lecture slide region,
no set-up or assert slides, and no slide taller than a 1280x720 screen (estimated by lines)."""

import ast
import inspect
import math
import re
from pathlib import Path

import jupytext
import pytest

from lecture21 import slides
from lecture21.helpers import source_excerpt

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.md"))

#: What fits a 1280x720 slide at RISE's default scale: a code cell of at most 20 source lines
#: (the issue's rule), a source dump of at most 24 printed lines, and about 34 lines in all
#: (prose wrapped at 100 characters, a heading counting as two).
MAX_CELL_LINES, MAX_DUMP_LINES, MAX_SLIDE_LINES = 20, 24, 34


def _shown(cell) -> bool:
    kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
    tags = cell.metadata.get("tags", [])
    return kind not in ("skip", "notes") and not {"remove-cell", "remove-input"} & set(tags)


def _prose_lines(text: str) -> int:
    lines = 0
    for line in text.splitlines():
        lines += (2 if line.startswith("#") else 1) * max(1, math.ceil(len(line) / 100))
    return lines


def _namespace(notebook) -> dict:
    """The notebook's imports (only them), to resolve what its cells print the source of."""
    namespace: dict = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics: no imports to take from them
            continue
        imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        exec(compile(ast.Module(imports, []), "<imports>", "exec"), namespace)  # noqa: S102
    return namespace


def _dump_lines(source: str, namespace: dict) -> int:
    """Printed lines of the ``inspect.getsource(x)`` / ``source_excerpt(x, ...)`` calls of a cell
    whose argument is a dotted name of an imported module (others are not estimated)."""
    total = 0
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = ast.unparse(node.func)
        if name not in ("inspect.getsource", "source_excerpt"):
            continue
        try:
            target = eval(ast.unparse(node.args[0]), dict(namespace))  # noqa: S307
        except (NameError, AttributeError):
            continue  # a name defined by an earlier cell (a model instance): not estimated
        if name == "source_excerpt":
            markers = [ast.literal_eval(a) for a in node.args[1:]]
            total += len(source_excerpt(target, *markers).splitlines())
        else:
            code = inspect.getsource(target)
            total += len(code.splitlines())
    return total


def slide_heights(notebook) -> list[tuple[int, int, list[str]]]:
    """(index of the slide's first cell, estimated lines, problems) for every slide and
    sub-slide: a slide holds its own cell and the fragments and plain cells after it."""
    namespace = _namespace(notebook)
    heights: list[tuple[int, int, list[str]]] = []
    for i, cell in enumerate(notebook.cells):
        kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
        if kind in ("slide", "subslide"):
            heights.append((i, 0, []))
        if not heights or not _shown(cell):
            continue
        start, lines, problems = heights[-1]
        if cell.cell_type == "markdown":
            lines += _prose_lines(cell.source)
        else:
            own = len(cell.source.splitlines())
            dump = _dump_lines(cell.source, namespace)
            if own > MAX_CELL_LINES:
                problems.append(f"cell {i}: {own} source lines")
            if dump > MAX_DUMP_LINES:
                problems.append(f"cell {i}: prints {dump} lines of source")
            lines += own + dump
        heights[-1] = (start, lines, problems)
    return heights


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_slide_structure(path):
    notebook = jupytext.read(path)
    assert "jupytext" in notebook.metadata, "no jupytext header: nbval and the book would skip it"
    assert notebook.cells[0].metadata.get("slideshow", {}).get("slide_type") == "slide"
    assert slides.slide_count(notebook) >= 3


#: The decks cut to fit (issue 14): notebooks 01-05; later notebooks join as they are cut.
FITTED = [p for p in NOTEBOOKS if p.stem[:2] in {"01", "02", "03", "04", "05"}]


@pytest.mark.parametrize("path", FITTED, ids=lambda p: p.stem)
def test_no_slide_is_taller_than_the_screen(path):
    notebook = jupytext.read(path)
    too_tall = [
        (start, lines, problems) for start, lines, problems in slide_heights(notebook)
        if problems or lines > MAX_SLIDE_LINES
    ]
    assert not too_tall, f"slides starting at cells (index, lines, problems): {too_tall}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_set_up_and_assert_cells_are_not_slides(path):
    notebook = jupytext.read(path)
    for i, cell in enumerate(notebook.cells):
        kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
        if "remove-input" in cell.metadata.get("tags", []) or re.search(
                r"^(from lecture21 import|import lecture21)", cell.source, flags=re.M):
            assert kind == "skip", f"cell {i} ({cell.source.splitlines()[0]!r}) is a {kind}"


def test_height_estimate_counts_prose_code_and_source_dumps():
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    def meta(kind):
        return {"slideshow": {"slide_type": kind}}

    notebook = new_notebook(cells=[
        new_markdown_cell("# Title\n" + "x" * 150, metadata=meta("slide")),
        new_code_cell("import inspect\nfrom lecture21.helpers import minmax\n"
                      "print(inspect.getsource(minmax))", metadata=meta("skip")),
        new_code_cell("print(inspect.getsource(minmax))", metadata=meta("subslide")),
        new_code_cell("\n".join(["x = 1"] * 21), metadata=meta("fragment")),
    ])
    from lecture21.helpers import minmax

    dump = len(inspect.getsource(minmax).splitlines())
    (_, first, _), (_, second, problems) = slide_heights(notebook)
    assert first == 2 + 2  # a heading counts twice, 150 characters wrap onto two lines
    assert second == 1 + dump + 21 and problems == ["cell 3: 21 source lines"]


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
            "display_data", data={"application/papermill.record/text/plain": "'61,1'"},
            metadata={"scrapbook": {"name": "acc"}})]),
    ])
    got = slides.plain_myst(notebook).cells[0].source
    assert got == ("CIFAR-10 [krizhevsky2009cifar, lecun1998gradient]: 61,1 точность, "
                   "см. Основы.")


def test_make_slides_executes_notebooks_into_offline_decks(tmp_path, capsys):
    """`make slides` (``python -m lecture21.slides OUT``) executes each notebook and writes its
    deck with the outputs, reveal.js and MathJax beside it. A small notebook stands in for the
    course's: the book build writes their decks through the same ``write_deck``."""
    notebook = tmp_path / "notebooks" / "00_probe.md"
    notebook.parent.mkdir()
    notebook.write_text(
        "---\njupyter:\n  jupytext:\n    text_representation:\n      extension: .md\n"
        "      format_name: markdown\n  kernelspec:\n    display_name: Python 3\n"
        "    language: python\n    name: python3\n---\n\n"
        '<!-- #region slideshow={"slide_type": "slide"} -->\n## Проба\n\n$y = x^2$\n'
        "<!-- #endregion -->\n\n```python\nprint(6 * 7)\n```\n", encoding="utf-8")
    slides.main([str(tmp_path / "out"), str(notebook)])
    html = (tmp_path / "out" / "00_probe.slides.html").read_text(encoding="utf-8")
    assert "42" in html.split('<div class="slides">')[1], "the deck shows the executed output"
    assert (tmp_path / "out" / "reveal.js" / "dist" / "reveal.js").is_file()
    assert (tmp_path / "out" / "mathjax" / "tex-chtml.js").is_file()
    assert "00_probe.slides.html: 1 slides" in capsys.readouterr().out
