"""environment.yml (conda, Binder) carries exactly the requirements of pyproject.toml."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pip_section() -> list[str]:
    spec = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip = [d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip) == 1, "environment.yml must have exactly one pip: section"
    return [r for r in pip[0] if not r.startswith("-e")]


def test_environment_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    wanted = [*project["dependencies"], *extras["book"], *extras["test"]]
    normalise = lambda reqs: {r.replace(" ", "").lower() for r in reqs}  # noqa: E731
    assert normalise(_pip_section()) == normalise(wanted)


def test_environment_python_and_package():
    spec = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert "python=3.11" in spec["dependencies"]
    pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip, "Binder needs the package itself installed"
