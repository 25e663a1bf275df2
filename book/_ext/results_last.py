"""Read (and so execute) the results page after every notebook.

Sphinx reads documents in sorted order, so ``book/results`` would be executed before
``notebooks/*`` and show the results store as it was before this build. The page is moved to
the end of the reading order, after the notebooks have recorded their results.
"""

from __future__ import annotations

RESULTS_PAGE = "book/results"


def _read_results_last(app, env, docnames: list[str]) -> None:
    if RESULTS_PAGE in docnames:
        docnames.remove(RESULTS_PAGE)
        docnames.append(RESULTS_PAGE)


def setup(app):
    app.connect("env-before-read-docs", _read_results_last)
    # Reordering only matters for a serial read; executing notebooks in parallel would race.
    return {"parallel_read_safe": False, "parallel_write_safe": True}
