"""The publishing workflow is valid GitHub Actions (actionlint) and does what the README says:
tests, then the book built and pushed to the gh-pages branch with the run cache kept."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
ACTIONLINT = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which(
    "actionlint")


@pytest.mark.skipif(ACTIONLINT is None, reason="actionlint is not installed (test extra)")
def test_actionlint_finds_nothing():
    run = subprocess.run([ACTIONLINT, "-no-color", str(WORKFLOW)], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    if ACTIONLINT is None:
        pytest.skip("actionlint is not installed (test extra)")
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text(encoding="utf-8").replace("needs: test", "needs: tset"),
                      encoding="utf-8")
    run = subprocess.run([ACTIONLINT, "-no-color", str(broken)], capture_output=True, text=True)
    assert run.returncode != 0 and "tset" in run.stdout


def test_push_to_main_tests_then_builds_and_publishes_with_the_run_cache():
    flow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert flow[True]["push"]["branches"] == ["main"]  # YAML 1.1 reads the key `on` as True
    jobs = flow["jobs"]
    assert jobs["build"]["needs"] == "test"
    steps = lambda job: [s.get("uses", "") + s.get("run", "") for s in jobs[job]["steps"]]  # noqa: E731
    assert "make test" in steps("test") and "make book" in steps("build")
    assert any(s.startswith("actions/cache@") for s in steps("build"))
    assert any("git push" in s and "gh-pages" in s and ".nojekyll" in s for s in steps("build"))
    assert "quick" in str(jobs["build"]) and "GPU_RUNNER" in jobs["build"]["runs-on"]
