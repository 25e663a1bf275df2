"""Let nbval run the Jupytext markdown notebooks in ``notebooks/`` (it reads only .ipynb).

A ``.md`` file whose header names ``jupytext`` is read through ``jupytext.read`` and handed to
nbval's own collector, so every code cell becomes a test item run in a fresh kernel. The
notebooks carry no stored outputs, so nbval runs in ``--nbval-lax`` mode: what is checked are
the ``assert`` statements inside the notebooks, and that no cell raises.
"""

from __future__ import annotations

from unittest.mock import patch

import jupytext
from nbval import plugin


def _is_jupytext_markdown(path) -> bool:
    if path.suffix != ".md" or path.parent.name != "notebooks":
        return False
    with open(path, encoding="utf-8") as file:
        return "jupytext:" in file.read(2000)


class JupytextNotebook(plugin.IPyNbFile):
    """nbval's notebook collector, fed by jupytext instead of nbformat."""

    def collect(self):
        def read(path, as_version=4):
            return jupytext.read(path, as_version=as_version)

        with patch.object(plugin.nbformat, "read", read):
            items = list(super().collect())
        yield from items


def pytest_collect_file(file_path, parent):
    option = parent.config.option
    if (option.nbval or option.nbval_lax) and _is_jupytext_markdown(file_path):
        return JupytextNotebook.from_parent(parent, path=file_path)
    return None
