"""`make full`'s plumbing, on the CPU with a tiny forced budget: notebooks executed in order in
the requested profile, executed copies and the results store written, times printed; and the
refusal without a GPU."""

import json

import pytest
import torch

from lecture21 import full

NOTEBOOK = """---
jupyter:
  jupytext:
    text_representation: {{extension: .md, format_name: markdown}}
  kernelspec: {{display_name: Python 3, language: python, name: python3}}
---

```python
from lecture21 import config, results
results.notebook("{name}")
results.record(model="tiny", test_accuracy=0.5)
print("profile", config.get_profile().name)
{extra}
```
"""


def _notebook(folder, name, extra=""):
    path = folder / f"{name}.md"
    path.write_text(NOTEBOOK.format(name=name, extra=extra), encoding="utf-8")
    return path


def test_refuses_on_a_cpu_unless_forced(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="no CUDA GPU here"):
        full.run(tmp_path / "out", [_notebook(tmp_path, "01_a")], profile="smoke")
    assert not (tmp_path / "out").exists()


def test_forced_smoke_run_writes_notebooks_store_and_times(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LECTURE21_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LECTURE21_PROFILE", "quick")  # the run's own profile wins
    books = [_notebook(tmp_path, "01_a"), _notebook(tmp_path, "02_b", "raise RuntimeError('x')")]
    times = full.run(tmp_path / "out", books, profile="smoke", force=True, timeout=900)
    printed = capsys.readouterr().out
    assert "01_a: " in printed and "02_b: " in printed and "FAILED" in printed
    assert times["01_a"]["error"] is None and "RuntimeError" in times["02_b"]["error"]
    executed = json.loads((tmp_path / "out" / "01_a.ipynb").read_text(encoding="utf-8"))
    assert "profile smoke" in "".join(executed["cells"][0]["outputs"][0]["text"])
    rows = (tmp_path / "out" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(r)["notebook"] for r in rows] == ["01_a", "02_b"]
    assert {json.loads(r)["profile"] for r in rows} == {"smoke"}
    assert json.loads((tmp_path / "out" / "times.json").read_text())["01_a"]["seconds"] > 0


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="profile must be one of"):
        full.run(tmp_path, [], profile="huge", force=True)
    with pytest.raises(ValueError, match="notebooks must be existing files"):
        full.run(tmp_path, [tmp_path / "none.md"], force=True)
