"""Let nbval run the Jupytext markdown notebooks in ``notebooks/`` (it reads only .ipynb), once.

A ``.md`` file whose header names ``jupytext`` is read through ``jupytext.read`` and handed to
nbval's own collector, so every code cell becomes a test item run in a fresh kernel. The
notebooks carry no stored outputs, so nbval runs in ``--nbval-lax`` mode: what is checked are
the ``assert`` statements inside the notebooks, and that no cell raises.

Each notebook is executed once per test run: the outputs nbval collects are kept, and a notebook
whose every cell passed is written as an executed ``.ipynb`` (marked ``execution_mode: off`` for
myst-nb). The book test (``tests/test_book.py``, moved after the notebooks) builds the book from
those files through the ``executed_notebooks`` fixture instead of executing the notebooks again.

``make test`` runs on two pytest-xdist workers (``-n 2``, scheduled below): each notebook and
each test module is a unit of work, notebooks first; the book tests come last, and wait until
every notebook has run on either worker (the workers share the folder of executed notebooks).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest.mock import patch

import jupytext
import nbformat
import pytest
from nbval import plugin

EXECUTED_DIR = pytest.StashKey[Path]()
SHARED_DIR = "LECTURE21_EXECUTED_DIR"  # the xdist controller's folder, inherited by its workers

def _is_jupytext_markdown(path) -> bool:
    if path.suffix != ".md" or path.parent.name != "notebooks":
        return False
    with open(path, encoding="utf-8") as file:
        return "jupytext:" in file.read(2000)


class JupytextNotebook(plugin.IPyNbFile):
    """nbval's notebook collector, fed by jupytext instead of nbformat; it keeps the outputs."""

    def collect(self):
        def read(path, as_version=4):
            return jupytext.read(path, as_version=as_version)

        with patch.object(plugin.nbformat, "read", read):
            items = list(super().collect())
        self.cells_total, self.cells_passed, self.cells_done = len(items), 0, 0
        yield from items

    def keep_outputs(self, item, passed: bool) -> None:
        """Store a cell's outputs in the notebook; write it once every cell has passed."""
        item.cell.outputs = list(getattr(item, "test_outputs", None) or [])
        item.cell.execution_count = item.cell_num + 1
        self.cells_passed += passed
        if self.cells_passed == self.cells_total:
            self.nb.metadata["mystnb"] = {"execution_mode": "off"}  # executed here already
            target = self.config.stash[EXECUTED_DIR] / f"{Path(self.path).stem}.ipynb"
            nbformat.write(self.nb, str(target))

    def cell_done(self, item) -> None:
        """After each cell's teardown: once every selected cell is done, passed or not, say so
        in the folder."""
        self.cells_done += 1
        if self.cells_done == sum(i.parent is self for i in item.session.items):
            (self.config.stash[EXECUTED_DIR] / f"{Path(self.path).stem}.done").touch()


def pytest_configure(config):
    # The kernels nbval starts inherit the environment; a non-inline matplotlib backend there
    # (MPLBACKEND=Agg, a common CI setting) would leave the executed notebooks without figures.
    os.environ.pop("MPLBACKEND", None)
    if hasattr(config, "workerinput"):  # an xdist worker: the controller's folder
        config.stash[EXECUTED_DIR] = Path(os.environ[SHARED_DIR])
        return
    config.stash[EXECUTED_DIR] = Path(tempfile.mkdtemp(prefix="lecture21-executed-"))
    os.environ[SHARED_DIR] = str(config.stash[EXECUTED_DIR])  # workers start after this
    if getattr(config.option, "numprocesses", None):
        # One thread per worker (and per kernel it starts): more threads than cores make
        # OpenMP's waiting threads spin on busy cores (measured: a smoke cell 36 s -> 135 s).
        os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_unconfigure(config):
    if EXECUTED_DIR in config.stash and not hasattr(config, "workerinput"):
        shutil.rmtree(config.stash[EXECUTED_DIR], ignore_errors=True)


def pytest_collect_file(file_path, parent):
    option = parent.config.option
    if (option.nbval or option.nbval_lax) and _is_jupytext_markdown(file_path):
        return JupytextNotebook.from_parent(parent, path=file_path)
    return None


BOOK_TESTS = ("tests/test_book.py", "tests/test_browser.py")


def pytest_collection_modifyitems(session, config, items):
    """The book build (and the browser tests of the built site) reuse the executed notebooks:
    run them last. The notebooks, the longest units of work, run first."""
    book = [item for item in items if item.nodeid.startswith(BOOK_TESTS)]
    notebooks = [item for item in items if isinstance(item.parent, JupytextNotebook)]
    rest = [item for item in items if item not in book and item not in notebooks]
    items[:] = notebooks + rest + book


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Under pytest-xdist: every notebook, every test module and the book tests are units of
    work, handed out in collection order, so the book tests are handed out last: on whichever
    worker they run, every notebook was handed out before them (``executed_notebooks`` waits)."""
    from xdist.scheduler import LoadScopeScheduling

    class BookLast(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "book" if path.startswith(BOOK_TESTS) else path

    config.option.loadscopereorder = False  # by size would hand the book out before notebooks
    return BookLast(config, log)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if isinstance(item.parent, JupytextNotebook):
        if call.when == "call":
            item.parent.keep_outputs(item, outcome.get_result().passed)
        elif call.when == "teardown":  # every cell that ran has one, even if its setup failed
            item.parent.cell_done(item)


def pytest_terminal_summary(terminalreporter):
    """Lines tests report with ``user_properties`` ("summary", line), e.g. the RISE decks' slide
    counts and screenshots: xdist brings them from the workers, whose output is not shown."""
    lines = [value for reports in terminalreporter.stats.values() for report in reports
             for name, value in getattr(report, "user_properties", ()) if name == "summary"]
    if lines:
        terminalreporter.section("summary of the tests")
        for line in sorted(set(lines)):
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def executed_notebooks(request) -> dict[str, Path]:
    """The notebooks nbval executed in this run, every cell passed: stem -> executed .ipynb.
    Under xdist another worker may still be running some: wait until each collected one is done
    (nothing collected when the book tests run alone: then there is nothing to wait for)."""
    folder = request.config.stash[EXECUTED_DIR]
    expected = {Path(item.path).stem for item in request.session.items
                if isinstance(item.parent, JupytextNotebook)}
    deadline = time.monotonic() + 3600
    while missing := sorted(s for s in expected if not (folder / f"{s}.done").exists()):
        if time.monotonic() > deadline:
            pytest.fail(f"notebooks still running after an hour on another worker: {missing}")
        time.sleep(1)
    return {path.stem: path for path in sorted(folder.glob("*.ipynb"))}


ROOT = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def built_book(tmp_path_factory, executed_notebooks) -> Path:
    """Build a copy of the book's sources (so the working tree's _build is left alone), with
    the notebooks nbval has executed in place of their .md sources.

    ``LECTURE21_BUILT_BOOK=<folder>/_build/html`` tests a site built before instead (to work on
    the site's tests without rebuilding it)."""
    if os.environ.get("LECTURE21_BUILT_BOOK"):
        return Path(os.environ["LECTURE21_BUILT_BOOK"])
    source = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "_toc.yml", "book", "notebooks"):
        path = ROOT / name
        copy = shutil.copytree if path.is_dir() else shutil.copy
        copy(path, source / name)
    for stem, executed in executed_notebooks.items():
        (source / "notebooks" / f"{stem}.md").unlink()
        shutil.copy(executed, source / "notebooks" / f"{stem}.ipynb")
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
