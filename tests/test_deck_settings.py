"""Every deck looks the same: the same RISE settings in every notebook, and a title slide each.

The settings are each notebook's own ``rise`` metadata (in its Jupytext header, kept by
``notebook_metadata_filter: rise`` when JupyterLab saves it), so a deck looks the same wherever
it is opened: ``make lab``, Binder, a lecturer's own JupyterLab. ``jupyter-config/``, which
``make lab`` and the browser test put on ``JUPYTER_CONFIG_PATH``, only makes JupyterLab open a
``.md`` file as a notebook.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.md"))
LECTURE = "Лекция 21: Сверточные нейронные сети"
# The title slide: "# <part's title>", then "*Лекция 21: Сверточные нейронные сети. <part>.*".
TITLE = re.compile(rf"\A# (?P<title>\S.*)\n+\*{LECTURE}\. (?P<part>\S[^*\n]*\S)\.\*\n")


def _rise_settings(path: Path) -> dict:
    return jupytext.read(path).metadata.get("rise", {})


def test_rise_settings_are_valid_for_the_installed_jupyterlab_rise():
    """Checked against jupyterlab-rise's own settings schema (RISE merges its settings and the
    notebook's ``rise`` metadata): a typo would be dropped silently."""
    jupyterlab_rise = pytest.importorskip("jupyterlab_rise")
    schema_file = (Path(jupyterlab_rise.__file__).parent / "labextension" / "schemas"
                   / "jupyterlab-rise" / "plugin.json")
    if not schema_file.exists():  # installed as a wheel: the extension is under share/jupyter
        schema_file = (Path(sys.prefix) / "share" / "jupyter" / "labextensions"
                       / "jupyterlab-rise" / "schemas" / "jupyterlab-rise" / "plugin.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    settings = _rise_settings(NOTEBOOKS[0])
    jsonschema.validate(settings, schema)  # additionalProperties: false catches unknown keys
    wanted = {"theme", "transition", "scroll", "slideNumber", "footer", "start_slideshow_at"}
    assert wanted <= settings.keys(), f"missing deck settings: {wanted - settings.keys()}"
    assert settings["scroll"] is True, "long outputs must scroll, not run off the slide"
    assert LECTURE in settings["footer"]


def test_make_lab_uses_the_repository_settings():
    dry_run = subprocess.run(["make", "-n", "-B", "lab"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.replace("\\\n", " ")
    line = next(line for line in dry_run.splitlines() if "jupyter lab" in line)
    assert f"JUPYTER_CONFIG_PATH={ROOT / 'jupyter-config'}" in line, line


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_deck_has_the_same_settings_as_every_other(path):
    metadata = jupytext.read(path).metadata
    assert metadata.get("rise") == _rise_settings(NOTEBOOKS[0]), f"{path.name}: other deck settings"
    assert "livereveal" not in metadata, f"{path.name}: old RISE metadata would override 'rise'"
    assert "rise" in metadata["jupytext"].get("notebook_metadata_filter", "").split(","), (
        f"{path.name}: without notebook_metadata_filter: rise, saving in JupyterLab drops them")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_deck_opens_with_a_title_slide(path):
    first = jupytext.read(path).cells[0]
    assert first.cell_type == "markdown"
    assert first.metadata.get("slideshow", {}).get("slide_type") == "slide"
    assert TITLE.match(first.source), (
        f"{path.name}: the first slide must be '# <title>' and then "
        f"'*{LECTURE}. <part of the lecture>.*', got {first.source[:160]!r}")


def test_title_slides_name_different_parts():
    parts = {}
    for path in NOTEBOOKS:
        match = TITLE.match(jupytext.read(path).cells[0].source)
        if match:
            parts.setdefault((match["title"], match["part"]), []).append(path.name)
    repeated = {part: names for part, names in parts.items() if len(names) > 1}
    assert not repeated, f"two decks announce the same part: {repeated}"


def test_binder_start_script_uses_the_repository_settings(tmp_path):
    """repo2docker runs ``start`` before JupyterLab: the Binder button's JupyterLab must open
    the ``.md`` notebooks as notebooks, with the same ``jupyter-config`` as ``make lab``."""
    start = ROOT / "start"
    assert start.stat().st_mode & 0o111, "repo2docker runs start only if it is executable"
    env = {"PATH": "/usr/bin:/bin", "JUPYTER_CONFIG_PATH": str(tmp_path)}
    shown = subprocess.run([str(start), "sh", "-c", 'echo "$JUPYTER_CONFIG_PATH"'], cwd=tmp_path,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert shown.split(":") == [str(ROOT / "jupyter-config"), str(tmp_path)]
    overrides = ROOT / "jupyter-config" / "labconfig" / "default_setting_overrides.json"
    viewers = json.loads(overrides.read_text(encoding="utf-8"))[
        "@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers["markdown"] == "Jupytext Notebook"
