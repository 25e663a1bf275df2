"""The built site and a deck in a real browser: Playwright driving the system's Chromium.

The book the test session built (``built_book``, see conftest.py) is served on localhost. Every
page must load with no failed request and no request to another host (MathJax, fonts and
scripts are served by the site itself), every image decoded, the interface in Russian, notebook
pages with their executed outputs and formulas typeset by MathJax, their exercises' solutions
closed until clicked; the search page finds a Russian word of a notebook; the launch, download
and slides buttons exist, Colab's link ends in ``.ipynb``; every offline reveal.js deck is
stepped through, no slide taller or wider than 1280x720 (and a synthetic deck with outputs
larger than any slide shows how the template bounds them). Screenshots go to
``_build/test-artifacts``.

Playwright cannot download its own browser here: it drives Debian's ``chromium``
(``apt-get install chromium``; ``.ci/run`` installs it). Without it the tests skip, loudly.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from browser_support import chromium_path, launch_chromium

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "_build" / "test-artifacts"
CHROMIUM = chromium_path()
DECK = "01_cnn_basics"  # the deck stepped through: the course's first part
SEARCH_WORD = "свёртка"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="NO CHROMIUM: the browser tests of the site did NOT run "
    "(apt-get install -y chromium; .ci/run does it)")


@contextlib.contextmanager
def _served(folder: Path):
    """``folder`` on http://127.0.0.1:<free port>/."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site(built_book):
    """The built book on http://127.0.0.1:<free port>/."""
    with _served(built_book) as url:
        yield url


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the test reports failures itself
        pass


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = launch_chromium(p)
        yield chromium
        chromium.close()


class Watched:
    """A page whose requests are recorded: other hosts, failures, HTTP errors."""

    def __init__(self, browser, site: str):
        self.page = browser.new_page(viewport={"width": 1280, "height": 720})
        self.host = urlparse(site).netloc
        self.foreign, self.failed = [], []
        self.page.on("request", self._request)
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url}: {r.failure}"))
        self.page.on("response", self._response)

    def _request(self, request) -> None:
        url = urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != self.host:
            self.foreign.append(request.url)

    def _response(self, response) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.url}: HTTP {response.status}")

    def open(self, url: str):
        self.page.goto(url, wait_until="networkidle")
        return self.page

    def check_network(self) -> None:
        assert not self.foreign, f"requests to other hosts: {self.foreign[:5]}"
        assert not self.failed, f"failed requests: {self.failed[:5]}"


#: The themes' English interface words: none may show outside a page's own content.
ENGLISH_INTERFACE = ("Search", "Launch", "Back to top", "Toggle", "Color mode", "logo",
                     "Download", "Print", "Fullscreen", "Contents", "previous", "next", "Light",
                     "Dark", "System", "Settings")
INTERFACE_TEXT = """() => [...document.querySelectorAll('body *')]
    .filter(e => !e.closest('article, script, style, noscript'))
    .flatMap(e => [e.getAttribute('placeholder'), e.getAttribute('title'),
                   e.getAttribute('data-bs-title'), e.getAttribute('alt'),
                   ...[...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent)])
    .filter(t => t && t.trim())"""


def _pages(built_book: Path) -> list[str]:
    return sorted(str(p.relative_to(built_book)) for p in built_book.rglob("*.html")
                  if p.parts[len(built_book.parts)] in ("book", "notebooks"))


def test_every_page_loads_from_the_site_alone_with_images_decoded(built_book, site, browser):
    pages = _pages(built_book)
    assert any(p.startswith("notebooks/") for p in pages)
    for name in [*pages, "index.html"]:
        watched = Watched(browser, site)
        page = watched.open(f"{site}/{name}")
        broken = page.eval_on_selector_all(
            "img", "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0))"
                   ".map(i => i.src)")
        assert not broken, (name, broken)
        english = {t.strip() for t in page.evaluate(INTERFACE_TEXT)
                   if any(word in t for word in ENGLISH_INTERFACE)}
        assert not english, f"{name}: interface in English: {sorted(english)}"
        watched.check_network()
        if name.startswith("notebooks/"):
            assert page.locator(".cell_output").count() > 0, f"{name}: no executed outputs"
            if page.locator(".math").count():  # every formula typeset by the site's MathJax
                page.wait_for_function("document.querySelectorAll('.math').length === "
                                       "document.querySelectorAll('.math mjx-container').length",
                                       timeout=30_000)
        page.close()


def test_notebook_page_formulas_buttons_and_colab_link(built_book, site, browser):
    watched = Watched(browser, site)
    page = watched.open(f"{site}/notebooks/{DECK}.html")
    page.wait_for_selector("mjx-container", timeout=30_000)
    assert page.locator("mjx-container").count() >= 3, "formulas not typeset by MathJax"
    assert page.locator(".math, mjx-container").first.is_visible()
    scripts = page.eval_on_selector_all("script[src]", "s => s.map(x => x.src)")
    assert any("_static/mathjax/tex-chtml.js" in s for s in scripts), scripts
    links = page.eval_on_selector_all("a[href]", "a => a.map(x => x.href)")
    colab = [u for u in links if "colab.research.google.com" in u]
    assert colab and all(u.endswith(f"/_sources/notebooks/{DECK}.ipynb") for u in colab), colab
    assert any("mybinder.org/v2/gh/" in u for u in links), "no Binder button"
    assert any(urlparse(u).path.endswith(f"{DECK}.ipynb") and urlparse(u).netloc ==
               watched.host for u in links), "no .ipynb download"
    assert any(u.rstrip("/").startswith("https://github.com/") for u in links), "no repository"
    assert any(u.endswith(f"slides/{DECK}.slides.html") for u in links), "no slides link"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{DECK}.page.png"))
    watched.check_network()
    # The .ipynb behind the Colab button is a runnable notebook: first code cell installs.
    import json

    notebook = json.loads((built_book / "_sources" / "notebooks" / f"{DECK}.ipynb").read_text(
        encoding="utf-8"))
    first = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    assert "google.colab" in "".join(first["source"])


def test_every_notebook_page_has_exercises_whose_solutions_open(built_book, site, browser):
    """3-5 exercises per notebook page; each solution is a closed dropdown that opens on a
    click and shows the executed check (issue 14)."""
    pages = sorted(p.name for p in (built_book / "notebooks").glob("*.html"))
    assert len(pages) == len(list((ROOT / "notebooks").glob("*.md"))), pages
    for name in pages:
        watched = Watched(browser, site)
        page = watched.open(f"{site}/notebooks/{name}")
        exercises = page.locator("div.exercise.admonition").count()
        solutions = page.locator("div.solution.dropdown")
        assert 3 <= exercises <= 5 and solutions.count() == exercises, (name, exercises)
        for i in range(solutions.count()):
            solution = solutions.nth(i)
            body = solution.locator("section").first
            assert not body.is_visible(), f"{name}: solution {i + 1} is open before a click"
            solution.locator("button.toggle-button").click()
            body.wait_for(state="visible", timeout=5_000)
        checked = "".join(solutions.all_inner_texts())
        assert "✓ Верно" in checked, f"{name}: no solution shows a passed check"
        watched.check_network()
        page.close()


def test_search_finds_a_russian_word_of_a_notebook(site, browser):
    watched = Watched(browser, site)
    page = watched.open(f"{site}/search.html?q={SEARCH_WORD}")
    page.wait_for_selector("#search-results ul.search li", timeout=30_000)
    hits = page.eval_on_selector_all("#search-results ul.search li a",
                                     "a => a.map(x => x.getAttribute('href'))")
    assert any("notebooks/" in h for h in hits), hits
    watched.check_network()


def _step_through(page) -> tuple[int, list[list[int]]]:
    """Step through a reveal.js deck from its first slide: (steps, sizes over 1280x720 as
    [width, height, h-index, v-index]). A fragment is a step; its slide is measured again."""
    page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=30_000)
    seen, too_big = 0, []
    while True:
        seen += 1
        # Measured once the slide has settled, as a viewer sees it: formulas typeset, figures
        # decoded (the template refits the slide after either), its height steady for 6 frames.
        size = page.evaluate("""async () => {
            const s = Reveal.getCurrentSlide();
            if (window.MathJax && MathJax.typesetPromise) { await MathJax.typesetPromise(); }
            await Promise.all([...s.querySelectorAll("img")].map(i => i.decode().catch(() => 0)));
            const frame = () => new Promise(r => requestAnimationFrame(r));
            for (let same = 0, last = -1, n = 0; same < 6 && n < 200; n++) {  // ~3 s at most
                await frame();
                same = s.scrollHeight === last ? same + 1 : 0;
                last = s.scrollHeight;
            }
            return [s.scrollWidth, s.scrollHeight, Reveal.getIndices().h, Reveal.getIndices().v];
        }""")
        if size[0] > 1280 or size[1] > 720:
            too_big.append(size)
        if page.evaluate("Reveal.isLastSlide()") or seen > 500:
            return seen, too_big
        page.evaluate("Reveal.next()")


def test_offline_decks_step_through_every_slide_within_1280x720(built_book, site, browser):
    """Every deck of the book, executed outputs included: the template bounds figures, long
    outputs and code to the slide (issues 14, 15)."""
    decks = sorted((built_book / "slides").glob("*.slides.html"))
    notebooks = sorted((built_book / "_sources" / "notebooks").glob("*.ipynb"))
    assert [d.name.removesuffix(".slides.html") for d in decks] == [n.stem for n in notebooks], \
        "the book build writes a deck per executed notebook"
    over = {}
    for deck in decks:
        watched = Watched(browser, site)
        page = watched.open(f"{site}/slides/{deck.name}")
        seen, too_big = _step_through(page)
        assert seen >= 3, f"{deck.name}: {seen} slides"
        if too_big:
            over[deck.name] = too_big
        if deck.name == f"{DECK}.slides.html":
            page.evaluate("Reveal.slide(0, 0)")
            page.wait_for_timeout(300)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{DECK}.slide.png"))
        watched.check_network()
        page.close()
    assert not over, f"slides over 1280x720 (w, h, h-index, v-index): {over}"


def _synthetic_notebook():
    """Outputs larger than any slide: a 400x2000 px figure, a 60-row table, 200 printed lines
    and, on one slide, 30 lines of code with a figure and a table under it."""
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import nbformat.v4 as v4
    import pandas as pd

    figure = plt.figure(figsize=(4, 20), dpi=100)
    figure.add_subplot().plot(range(10))
    png = io.BytesIO()
    figure.savefig(png, format="png")
    plt.close(figure)
    image = {"image/png": base64.b64encode(png.getvalue()).decode(), "text/plain": "<Figure>"}
    table = pd.DataFrame({"слой": [f"conv{i}" for i in range(60)], "параметры": range(60)})
    rows = {"text/html": table.to_html(), "text/plain": table.to_string()}

    def slide(kind="slide"):
        return {"slideshow": {"slide_type": kind}}

    def code(source, *outputs, kind="-"):
        return v4.new_code_cell(source, metadata=slide(kind), outputs=[
            v4.new_output("display_data", data=data) for data in outputs])

    return v4.new_notebook(cells=[
        v4.new_markdown_cell("# Высокая фигура", metadata=slide()),
        code("plt.show()", image),
        v4.new_markdown_cell("# Длинная таблица", metadata=slide()),
        code("table", rows),
        v4.new_markdown_cell("# Длинный вывод", metadata=slide()),
        v4.new_code_cell("print(rows)", metadata=slide("-"), outputs=[v4.new_output(
            "stream", name="stdout", text="".join(f"строка {i}\n" for i in range(200)))]),
        v4.new_markdown_cell("# Всё сразу\nКод, фигура и таблица на одном слайде.",
                             metadata=slide()),
        code("\n".join(f"x{i} = {i}" for i in range(30)), image, rows),
        v4.new_markdown_cell("Вывод: всё видно.", metadata=slide("fragment")),
    ])


def test_deck_template_fits_outputs_of_any_size_without_hiding_them(tmp_path, browser):
    """The offline template bounds a 2000 px figure, a 60-row table, a long printout and a
    slide holding all of them to 1280x720: the figure is scaled (aspect kept, still readable),
    the rest scrolls in boxes, nothing is cut off."""
    from lecture21 import slides

    slides.write_deck(_synthetic_notebook(), "synthetic", tmp_path)
    with _served(tmp_path) as url:
        watched = Watched(browser, url)
        page = watched.open(f"{url}/synthetic.slides.html")
        seen, too_big = _step_through(page)
        assert seen == 4 and not too_big, (seen, too_big)  # the fragment: no step
        for h in range(4):
            page.evaluate(f"Reveal.slide({h}, 0)")
            page.wait_for_timeout(100)
            shown = page.evaluate("""() => { const s = Reveal.getCurrentSlide();
                const img = s.querySelector('img');
                const boxes = [...s.querySelectorAll('pre, table')].map(e => {
                    let b = e; while (b !== s && !(b.scrollHeight > b.clientHeight + 1 &&
                        ['auto', 'scroll'].includes(getComputedStyle(b).overflowY))) {
                        b = b.parentElement; }
                    return [e.tagName, b === s ? 0 : b.scrollHeight - b.clientHeight,
                            e.querySelectorAll('tbody tr').length]; });
                return {img: img && [img.width, img.height, img.naturalWidth, img.naturalHeight],
                        boxes: boxes}; }""")
            if shown["img"]:
                width, height, natural_width, natural_height = shown["img"]
                assert height >= 240, f"slide {h}: the figure shrank to {height} px"
                assert abs(width - height * natural_width / natural_height) <= 1.5, shown
            assert all(rows in (0, 60) for *_, rows in shown["boxes"]), f"slide {h}: lost rows"
            if h == 1:
                assert any(tag == "TABLE" and hidden > 0 for tag, hidden, _ in shown["boxes"]), \
                    "the 60-row table is not in a scroll box"
            if h == 2:
                assert any(tag == "PRE" and hidden > 0 for tag, hidden, _ in shown["boxes"]), \
                    "the 200-line printout is not in a scroll box"
        # A slide whose size changes after it was fitted (shown only after its transition, a
        # font or formula arriving late) is fitted again: undo the fit of the fullest slide.
        page.evaluate("Reveal.slide(3, 0)")
        page.wait_for_timeout(300)
        height = page.evaluate("""async () => { const s = Reveal.getCurrentSlide();
            s.querySelectorAll('*').forEach(e => { e.style.maxHeight = ''; e.style.zoom = ''; });
            for (let i = 0; i < 10; i++) { await new Promise(r => requestAnimationFrame(r)); }
            return s.scrollHeight; }""")
        assert height <= 720, f"an unfitted slide stays {height} px tall"
        watched.check_network()
        page.close()
