"""Every notebook as the lecturer presents it: a RISE deck in JupyterLab, in a real browser.

One JupyterLab (``jupyter-config/`` as ``make lab`` uses it, no token, the smoke profile) serves
a copy of ``notebooks/``; for each notebook Chromium opens ``/rise/notebooks/<name>.md`` at
1280x720 and steps through every slide, sub-slide and fragment with the space bar, as a lecturer
does. On every step it checks that the slide fits the screen, that no MyST role or directive
shows as raw text and that no error dialog is open; all along, that the page asks no other host
for anything. It saves a screenshot of the title slide and of the first slide with code into
``LECTURE21_SCREENSHOTS`` (default ``_build/screenshots/rise``); pytest's summary lists each
deck's slides and its screenshots.

Nothing is executed: a ``.md`` notebook stores no outputs, so the deck shows the code and the
prose, which is exactly what ``make lab`` opens; the lecturer runs a cell on the slide to show
its output (RISE: Shift+Enter), and the deck settings scroll a slide whose output is long.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import jupytext
import pytest
from browser_support import assert_no_external_requests, launch_chromium

from lecture21 import slides

playwright_api = pytest.importorskip("playwright.sync_api")
PlaywrightTimeout = playwright_api.TimeoutError

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.md"))
WIDTH, HEIGHT = 1280, 720
# RISE gives a slide a scroll bar once it is taller than 95 % of the screen (its "scroll"
# setting): the lecturer would have to scroll, so that is where a slide stops fitting.
FITS = 0.95 * HEIGHT
# What MyST would have rendered, left as text by RISE's plain Markdown: a role such as
# {cite}`key` or {glue:text}`name` (RISE drops the backticks), a directive fence ```{note} or
# :::{note}, and a directive's option lines (":label: ex-1").
RAW_MYST = re.compile(r"\{[a-z][\w:-]*\}|`{3,}\{|:{3,}\{|^:[a-z-]+:\s", re.MULTILINE)
# jupyterlab-rise cannot load jupyterlab-myst (jupyterlab-contrib/rise#46): slide cells are
# written without MyST (citations and glued numbers in the `skip` cell after them).
SCREENSHOTS = Path(os.environ.get("LECTURE21_SCREENSHOTS",
                                  ROOT / "_build" / "screenshots" / "rise"))

# The innermost slide on screen, measured in the page: its size, the text of its visible
# rendered Markdown, whether it shows a code cell, and the slide counter ("3 / 21").
MEASURE = """() => {
  const present = [...document.querySelectorAll('.reveal .slides section.present')]
      .filter(s => !s.querySelector('section.present')).pop();
  if (!present) return null;
  // Fragments still to come are in the page but transparent: they do not count yet.
  const visible = e => e.checkVisibility({opacityProperty: true, visibilityProperty: true});
  const markdown = [...present.querySelectorAll('.jp-RenderedMarkdown')].filter(visible);
  const number = document.querySelector('.reveal .slide-number');
  return {
    hash: location.hash,
    height: present.scrollHeight,
    width: present.scrollWidth,
    text: markdown.map(e => e.innerText).join('\\n'),
    directive_blocks: markdown.flatMap(e => [...e.querySelectorAll('code[class*="language-{"]')])
        .map(e => e.className),
    code: [...present.querySelectorAll('.jp-CodeCell')].filter(visible).length,
    counter: number ? number.innerText.replace(/\\s/g, '') : '',
    dialogs: [...document.querySelectorAll('.jp-Dialog')].filter(visible)
        .map(e => e.innerText.slice(0, 200)),
  };
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _say(request, line: str) -> None:
    """Report ``line`` (slide counts, raw MyST found) in pytest's terminal summary, also from an
    xdist worker, whose own output nobody sees: conftest.py prints every ``summary`` property."""
    request.node.user_properties.append(("summary", line))


def _wait_until_serving(url: str, server: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise RuntimeError(f"JupyterLab did not answer {url} in {timeout:.0f} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab with RISE, jupytext and jupyterlab-myst serving a copy of the notebooks.

    A copy, because JupyterLab may save a notebook it has opened; ``jupyter-config`` is used
    exactly as ``make lab`` uses it (the deck settings are the notebooks' own metadata), and the
    user's own Jupyter settings are kept out. The server is stopped by its process id, also on
    failure.
    """
    base = tmp_path_factory.mktemp("rise")
    root = base / "root"
    shutil.copytree(ROOT / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(base / "config"),
           "JUPYTER_CONFIG_PATH": str(ROOT / "jupyter-config"),
           "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
           "LECTURE21_PROFILE": "smoke", "HF_HUB_OFFLINE": "1"}
    port = _free_port()
    log = base / "jupyterlab.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
             "--ServerApp.port_retries=0", "--IdentityProvider.token=",
             "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
             f"--ServerApp.root_dir={root}"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_serving(f"http://127.0.0.1:{port}/api/status", server, log, timeout=300)
        yield {"port": port, "host": f"127.0.0.1:{port}", "log": log}
    finally:
        server.terminate()  # the server shuts its kernels down on SIGTERM
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def browser(lab):
    with playwright_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def _close_sessions(port: int) -> None:
    """Shut down the kernel RISE started for a deck, so that decks do not pile kernels up."""
    base = f"http://127.0.0.1:{port}/api/sessions"
    with urllib.request.urlopen(base, timeout=10) as answer:
        sessions = json.load(answer)
    for session in sessions:
        request = urllib.request.Request(f"{base}/{session['id']}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def _present(page, lab, path: Path) -> tuple[list[dict], list[Path]]:
    """Open the deck of ``path`` and press space until the last slide: one record per step, and
    the screenshots of the title slide and of the first slide with code, taken on the way."""
    page.goto(f"http://{lab['host']}/rise/notebooks/{path.name}")
    page.wait_for_selector(".reveal .slides section.present", timeout=180_000)
    page.wait_for_timeout(2500)  # RISE syncs reveal.js once more; the help buttons fade out
    steps = [page.evaluate(MEASURE)]
    shots = [_screenshot(page, path, "title")]
    for _ in range(1000):
        current, _, total = steps[-1]["counter"].partition("/")
        page.keyboard.press("Space")
        try:  # on the last slide only a fragment can still appear: a short wait
            page.wait_for_function("hash => location.hash !== hash", arg=steps[-1]["hash"],
                                   timeout=2_000 if current == total else 60_000)
        except PlaywrightTimeout as stuck:
            if current == total:
                break
            raise AssertionError(f"the space bar did not leave {steps[-1]['hash']}") from stuck
        steps.append(page.evaluate(MEASURE))
        if steps[-1]["code"] and len(shots) == 1:
            page.wait_for_timeout(1000)  # the slide transition
            shots.append(_screenshot(page, path, "code"))
    return steps, shots


def _screenshot(page, path: Path, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{path.stem}-{name}.png"
    page.screenshot(path=str(target))
    return target


def _slide_id(hash_: str) -> str:
    """"#/slide-H-V" of a step: RISE adds "/F" to the hash while fragments appear."""
    return re.sub(r"(#/slide-\d+-\d+).*", r"\1", hash_)


_decks: dict[Path, dict] = {}


def _deck(lab, browser, path: Path) -> dict:
    """Present ``path`` once per test run; both tests below read the same walk through it."""
    if path not in _decks:
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        try:
            with assert_no_external_requests(page, lab["host"]):
                steps, shots = _present(page, lab, path)
                code = next((s for s in steps if s["code"]), None)
        finally:
            page.close()
            _close_sessions(lab["port"])
        slides_seen = {_slide_id(s["hash"]) for s in steps}
        _decks[path] = {"steps": steps, "slides": slides_seen, "code": code, "shots": shots}
    return _decks[path]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_deck_is_presentable(lab, browser, path, request):
    deck = _deck(lab, browser, path)
    notebook = jupytext.read(path)
    cells = [c.metadata.get("slideshow", {}).get("slide_type") for c in notebook.cells]
    top, sub = slides.slide_count(notebook), cells.count("subslide")
    steps = deck["steps"]

    # Every slide and sub-slide was reached, and the deck has the notebook's structure.
    last = steps[-1]["counter"]
    assert last == f"{top + sub}/{top + sub}", f"stopped at slide {last} of {top + sub}"
    assert len(deck["slides"]) == top + sub
    assert len({h.rsplit("-", 1)[0] for h in deck["slides"]}) == top
    _say(request, f"{path.stem}: {top} slides, {top + sub} with sub-slides, {len(steps)} steps "
                  f"with fragments; screenshots {', '.join(str(s) for s in deck['shots'])}")

    too_tall = {}
    for step in steps:
        if step["height"] > FITS or step["width"] > WIDTH:
            too_tall.setdefault(_slide_id(step["hash"]), []).append(
                f"{step['hash']}: {step['width']}x{step['height']} px does not fit "
                f"{WIDTH}x{HEIGHT} ({step['text'][:60]!r})")
    problems = [line for lines in too_tall.values() for line in lines]
    problems += [f"{s['hash']}: error dialog {s['dialogs']}" for s in steps if s["dialogs"]]
    assert not problems, "\n".join(problems)
    assert deck["code"] is not None, "no slide shows code"
    assert all(shot.stat().st_size > 10_000 for shot in deck["shots"]), deck["shots"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_deck_shows_no_raw_myst(lab, browser, path, request):
    deck = _deck(lab, browser, path)
    found = sorted({role for s in deck["steps"] for role in RAW_MYST.findall(s["text"])}
                   | {block for s in deck["steps"] for block in s["directive_blocks"]})
    if found:
        _say(request, f"{path.stem}: raw MyST on the slides: {', '.join(found)}")
    raw = [f"{s['hash']}: {sorted(set(RAW_MYST.findall(s['text'])))} "
           f"{s['directive_blocks']}" for s in deck["steps"]
           if RAW_MYST.search(s["text"]) or s["directive_blocks"]]
    assert not raw, "MyST left as raw text on the slides:\n" + "\n".join(raw)


def test_lab_opens_a_md_notebook_as_a_notebook(lab, browser):
    """The page the Binder button opens (``lab/tree/notebooks/<name>.md``) and ``make lab``
    show the notebook, cells and all, not its Markdown text: ``jupyter-config`` does that."""
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    try:
        with assert_no_external_requests(page, lab["host"]):
            page.goto(f"http://{lab['host']}/lab/tree/notebooks/{NOTEBOOKS[0].name}")
            # A notebook panel with its first code cell (the Colab install), not a text editor.
            page.wait_for_function(
                "document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell').length > 0",
                timeout=180_000)
            page.wait_for_function(
                "document.querySelectorAll('.jp-NotebookPanel .jp-MarkdownCell').length > 0",
                timeout=60_000)
            assert page.locator(".jp-FileEditor").count() == 0, "opened as a text file"
    finally:
        page.close()
        _close_sessions(lab["port"])
