"""The built site and a deck in a real browser: Playwright driving the system's Chromium.

The book the test session built (``built_book``, see conftest.py) is served on localhost. Every
page must load with no failed request and no request to another host (MathJax, fonts and
scripts are served by the site itself), every image decoded, notebook pages with their executed
outputs and formulas typeset by MathJax; the search page finds a Russian word of a notebook;
the launch, download and slides buttons exist, Colab's link ends in ``.ipynb``; one offline
reveal.js deck is stepped through, no slide taller or wider than 1280x720. Screenshots go to
``_build/test-artifacts``.

Playwright cannot download its own browser here: it drives Debian's ``chromium``
(``apt-get install chromium``; ``.ci/run`` installs it). Without it the tests skip, loudly.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "_build" / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DECK = "01_cnn_basics"  # the deck stepped through: the course's first part
SEARCH_WORD = "свёртка"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="NO CHROMIUM: the browser tests of the site did NOT run "
    "(apt-get install -y chromium; .ci/run does it)")


@pytest.fixture(scope="module")
def site(built_book):
    """The built book on http://127.0.0.1:<free port>/."""
    handler = functools.partial(QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the test reports failures itself
        pass


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu"])
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
        watched.check_network()
        if name.startswith("notebooks/"):
            assert page.locator(".cell_output").count() > 0, f"{name}: no executed outputs"
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


def test_search_finds_a_russian_word_of_a_notebook(site, browser):
    watched = Watched(browser, site)
    page = watched.open(f"{site}/search.html?q={SEARCH_WORD}")
    page.wait_for_selector("#search-results ul.search li", timeout=30_000)
    hits = page.eval_on_selector_all("#search-results ul.search li a",
                                     "a => a.map(x => x.getAttribute('href'))")
    assert any("notebooks/" in h for h in hits), hits
    watched.check_network()


# Executed, deck 01 has slides taller than 720 px (its figures and tables: 726-1404 px, measured
# in CI); strict, so the test fails here once they fit and the mark must go (issues 14, 15).
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="deck 01's executed slides do not fit 1280x720 yet")
def test_offline_deck_steps_through_every_slide_within_1280x720(built_book, site, browser):
    deck = built_book / "slides" / f"{DECK}.slides.html"
    assert deck.is_file(), "the book build writes a deck per notebook"
    watched = Watched(browser, site)
    page = watched.open(f"{site}/slides/{DECK}.slides.html")
    page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=30_000)
    seen, too_big = 0, []
    while True:
        seen += 1
        size = page.evaluate("""() => { const s = Reveal.getCurrentSlide();
            return [s.scrollWidth, s.scrollHeight, Reveal.getIndices().h, Reveal.getIndices().v];
        }""")
        if size[0] > 1280 or size[1] > 720:
            too_big.append(size)
        if page.evaluate("Reveal.isLastSlide()") or seen > 500:
            break
        page.evaluate("Reveal.next()")
        page.wait_for_timeout(50)
    assert seen >= 3 and not too_big, f"{seen} slides; over 1280x720 (w, h, h-index, v): {too_big}"
    page.evaluate("Reveal.slide(0, 0)")
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{DECK}.slide.png"))
    watched.check_network()
