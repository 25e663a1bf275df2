"""A notebook opened in Colab runs: its install cell brings every package it imports.

Colab has only the package's core from ``pip install lecture21`` (plus its own preinstalled
packages, which change). So each install cell installs ``lecture21[notebooks]``, and this test
follows every import of every notebook, and of the ``lecture21`` modules they import (lazy
imports inside functions too), to check that each third-party module comes from the core
requirements, the ``notebooks`` extra, their own requirements, or the Jupyter kernel itself.
"""

import ast
import functools
import re
import sys
import tomllib
from importlib.metadata import packages_distributions, requires
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.md"))
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
KERNEL = {"ipython"}  # every Jupyter kernel (Colab's too) runs in IPython


@functools.cache
def _distributions() -> dict[str, list[str]]:
    return packages_distributions()


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imports(source: str, module: str | None = None) -> set[str]:
    """Absolute module names ``source`` imports; relative ones resolved against ``module``."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[: len(module.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # may be submodules
    return found


def _module_source(name: str) -> tuple[str, bool] | None:
    path = ROOT / "src" / Path(*name.split("."))
    for file, package in ((path / "__init__.py", True), (path.with_suffix(".py"), False)):
        if file.exists():
            return file.read_text(encoding="utf-8"), package
    return None


def _third_party_imports(path: Path) -> set[str]:
    """Top-level third-party modules a notebook needs, through the lecture21 modules it uses."""
    code = [c.source for c in jupytext.read(path).cells if c.cell_type == "code"]
    todo = [m for source in code for m in _imports(source)]
    seen, third_party = set(), set()
    while todo:
        name = todo.pop()
        top = name.split(".")[0]
        if top != "lecture21":
            if top not in sys.stdlib_module_names:
                third_party.add(top)
            continue
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):  # importing a.b.c runs a, a.b and a.b.c
            module = ".".join(parts[:depth])
            if module in seen or (found := _module_source(module)) is None:
                continue
            seen.add(module)
            source, package = found
            todo += _imports(source, module if package else module + ".__init__")
    return third_party


def test_colab_extra_is_in_the_environment_make_test_and_binder_install():
    extras = PROJECT["optional-dependencies"]
    installed = {_name(r) for r in (*extras["book"], *extras["test"])}
    assert {_name(r) for r in extras["notebooks"]} <= installed


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_install_brings_every_package_the_notebook_imports(path):
    install = next(c.source for c in jupytext.read(path).cells
                   if c.cell_type == "code" and "google.colab" in c.source)
    assert '"lecture21[notebooks] @ git+' in install, "Colab installs the notebooks extra"

    wanted = {_name(r) for r in (*PROJECT["dependencies"], *PROJECT["optional-dependencies"]
                                   ["notebooks"])}
    # ... and what those require themselves (timm brings huggingface_hub and safetensors).
    provided = wanted | KERNEL | {_name(r) for dist in wanted for r in (requires(dist) or ())
                                  if "extra ==" not in r}
    distributions = _distributions()
    missing = {module: distributions.get(module) for module in _third_party_imports(path)
               if not {_name(d) for d in distributions.get(module, [module])} & provided}
    assert not missing, f"{path.name} imports what Colab's install does not bring: {missing}"
