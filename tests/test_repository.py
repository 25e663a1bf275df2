"""The repository address is one setting: `_config.yml`'s ``repository.url``.

The site's repository, Binder and Colab buttons read it there; each notebook's Colab install
cell must repeat it (in Colab the notebook has neither this file nor the package yet), so this
test keeps them equal, and ``make repository URL=...`` rewrites them all at once.
"""

import re
from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
URL = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.md"))


def test_the_setting_is_a_github_repository_address():
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", URL), URL


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_install_cell_installs_from_the_configured_repository(path):
    install = [c.source for c in jupytext.read(path).cells
               if c.cell_type == "code" and "google.colab" in c.source]
    assert len(install) == 1, "one Colab install cell"
    assert re.findall(r"git\+(https://[^\"']+)", install[0]) == [URL]
    assert 'if "google.colab" in sys.modules:' in install[0], "installs in Colab only"


def test_make_repository_rewrites_every_copy(tmp_path):
    import shutil
    import subprocess

    for name in ("_config.yml", "Makefile", "notebooks"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, tmp_path / name)
    new = "https://github.com/someone/lecture21-fork"
    subprocess.run(["make", "-s", "repository", f"URL={new}"], cwd=tmp_path, check=True,
                   capture_output=True)
    config = yaml.safe_load((tmp_path / "_config.yml").read_text(encoding="utf-8"))
    assert config["repository"]["url"] == new
    for path in (tmp_path / "notebooks").glob("*.md"):
        assert f"git+{new}\"" in path.read_text(encoding="utf-8"), path.name
        assert URL not in path.read_text(encoding="utf-8")
