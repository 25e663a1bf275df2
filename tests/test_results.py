"""The results store: atomic appends, reading back, tables, the latest session, training runs."""

from __future__ import annotations

import json
import multiprocessing

import pandas as pd
import pytest
import torch

from lecture21 import measure, results
from lecture21.data import ImageData
from lecture21.train import HyperParams, TensorData, train_or_load

torch.set_num_threads(1)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("LECTURE21_CACHE", str(tmp_path))
    monkeypatch.setenv("LECTURE21_PROFILE", "smoke")
    monkeypatch.setitem(results._CONTEXT, "notebook", None)
    monkeypatch.setitem(results._CONTEXT, "session", None)
    monkeypatch.setitem(results._CONTEXT, "part", None)
    return tmp_path / "results.jsonl"


def test_missing_and_empty_store_read_as_empty_frames(store):
    assert not store.exists()
    frame = results.read()
    assert frame.empty and tuple(frame.columns) == results.COLUMNS
    store.write_text("\n", encoding="utf-8")
    assert results.read().empty
    assert results.latest().empty


def test_record_fills_context_and_reads_back(store):
    session = results.notebook("01_cnn_basics", part="Часть 1")
    row = results.record(model="m", test_accuracy=0.5, train_time_s=1.25, params=10, note="x")
    assert row["profile"] == "smoke" and row["device"] == "cpu"
    assert row["session"] == session and row["versions"]["torch"] == torch.__version__
    frame = results.read()
    assert len(frame) == 1
    got = frame.iloc[0]
    assert (got["notebook"], got["part"], got["model"], got["note"]) == (
        "01_cnn_basics", "Часть 1", "m", "x")
    assert got["test_accuracy"] == 0.5 and got["params"] == 10
    # one JSON object per line
    assert json.loads(store.read_text(encoding="utf-8"))["train_time_s"] == 1.25


def test_a_broken_line_is_skipped_with_a_warning(store):
    results.record(model="a")
    with open(store, "a", encoding="utf-8") as file:
        file.write('{"kind": "run", "mod')
    with pytest.warns(UserWarning, match="not a JSON row"):
        frame = results.read()
    assert list(frame["model"]) == ["a"]


def _append_many(path: str, worker: int) -> None:
    import os

    os.environ["LECTURE21_CACHE"] = path
    for i in range(25):
        results.record(model=f"w{worker}", step=i, padding="x" * 5000)


def test_appends_from_several_processes_never_interleave(store):
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(str(store.parent), w))
               for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        assert worker.exitcode == 0
    lines = store.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 100
    rows = [json.loads(line) for line in lines]  # every line is one whole row
    for w in range(4):
        assert sorted(r["step"] for r in rows if r["model"] == f"w{w}") == list(range(25))


def test_tables_round_trip_and_latest_session(store):
    frame = pd.DataFrame({"параметры": [60_000, 61_000_000], "точность": [0.5, 0.25],
                          "слои": [[1, 2], [3]]}, index=pd.Index(["LeNet", "AlexNet"],
                                                                 name="модель"))
    results.notebook("04")
    results.record_table("old", frame.head(1))
    results.notebook("04")  # a new execution of the same notebook
    assert results.record_table("cifar", frame) is frame
    results._CONTEXT.update(notebook=None, session=None)  # now outside any notebook
    results.record(model="cli-run", run="k1", test_accuracy=0.1)
    results.record(model="cli-run", run="k1", test_accuracy=0.2)
    results.record(model="quick-run", profile="quick")
    rows = results.latest()
    assert set(rows["table"].dropna()) == {"cifar"}
    outside = rows[rows["notebook"].isna()]
    assert list(outside["test_accuracy"]) == [0.2]
    rebuilt = results.table(rows, "cifar", notebook="04")
    pd.testing.assert_frame_equal(rebuilt, frame, check_dtype=False)
    assert set(results.latest(profile="quick")["model"]) == {"quick-run"}
    html = results.show(rebuilt, percent=("точность",)).to_html()
    assert "61\u202f000\u202f000" in html and "25.0%" in html and "1, 2" in html


def test_bad_input_is_refused_clearly(store):
    with pytest.raises(ValueError, match="kind"):
        results.record(kind="other")
    with pytest.raises(ValueError, match="date"):
        results.record(date="yesterday")
    with pytest.raises(ValueError, match="name"):
        results.notebook("")
    with pytest.raises(ValueError, match="frame"):
        results.record_table("t", {"a": 1})
    with pytest.raises(ValueError, match="recorded table"):
        results.table(results.read(), "missing")
    with pytest.raises(ValueError, match="percent"):
        results.show(pd.DataFrame({"a": [1]}), percent=("b",))


def test_every_training_run_is_recorded_with_measured_params_and_macs(store):
    g = torch.Generator().manual_seed(0)
    data = ImageData(
        train_x=torch.randint(0, 256, (32, 32, 32, 3), dtype=torch.uint8, generator=g),
        train_y=torch.randint(0, 10, (32,), generator=g),
        test_x=torch.randint(0, 256, (16, 32, 32, 3), dtype=torch.uint8, generator=g),
        test_y=torch.randint(0, 10, (16,), generator=g),
        classes=tuple(f"c{i}" for i in range(10)), source="test images",
    )
    hp = HyperParams(epochs=1, batch_size=16)
    options = {"widths": (4, 8), "hidden": 16}
    first = train_or_load("simple_cnn", data, hp, device="cpu", progress=False, options=options)
    again = train_or_load("simple_cnn", data, hp, device="cpu", progress=False, options=options)
    rows = results.read()
    assert list(rows["loaded"]) == [False, True]
    row = rows.iloc[0]
    assert (row["model"], row["variant"], row["profile"], row["data"]) == (
        "simple_cnn", "cifar", "smoke", "test images")
    assert row["params"] == measure.count_parameters(first.model)
    assert row["macs"] == measure.macs(first.model, (1, 3, 32, 32))
    assert row["test_accuracy"] == first.test_accuracy == again.test_accuracy
    assert row["train_time_s"] == first.train_time_s and row["epochs"] == 1
    assert row["options"] == {"widths": [4, 8], "hidden": 16, "init": "kaiming"}  # + recipe
    assert rows.iloc[0]["run"] == rows.iloc[1]["run"] == first.checkpoint_path.stem
    # token ids (not images) go to the model as they are
    text = TensorData(torch.randint(0, 50, (24, 12)), torch.randint(0, 2, (24,)),
                      torch.randint(0, 50, (8, 12)), torch.randint(0, 2, (8,)), ("a", "b"))
    run = train_or_load("text_cnn", text, hp, variant="text", device="cpu", progress=False,
                        options={"vocab_size": 50})
    assert results.read().iloc[-1]["params"] == measure.count_parameters(run.model)
    assert results.read().iloc[-1]["macs"] > 0


def test_glue_writes_numbers_the_russian_way():
    assert results.glue("share", 0.9612, ".0%") == "96\u202f%"
    assert results.glue("params", 60_965_224, ",") == "60\u202f965\u202f224"
    assert results.glue("macs", 0.7246, ".1f") == "0,7"
    assert results.glue("what", "AlexNet") == "AlexNet"
    with pytest.raises(ValueError, match="name"):
        results.glue("two words", 1)


@pytest.mark.parametrize(("value", "fmt", "shown"), [
    (9.4, ".1f", "9,4"), (60_965_224, ",", "60\u202f965\u202f224"), (0.5, ".0%", "50\u202f%"),
    ("plain-56", "", "plain-56"), ("1, 2", "", "1, 2")])
def test_myst_nb_pastes_the_glued_text_as_written(value, fmt, shown):
    """myst-nb's {glue:text} reads the stored text through ast.literal_eval: a decimal comma
    stored bare would be pasted as a tuple, "(9, 4)"."""
    from myst_nb.core.variables import format_plain_text

    data, metadata = results.glue_output("x", results.glue("x", value, fmt))
    assert format_plain_text(data[results.GLUE_PREFIX + "text/plain"], "") == shown
    assert metadata["scrapbook"] == {"name": "x", "mime_prefix": results.GLUE_PREFIX}


def test_glue_displays_one_valid_output_in_a_kernel():
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from lecture21 import results\nresults.glue('x', 9.4, '.1f');")])
    NotebookClient(notebook, kernel_name="python3", timeout=120).execute()
    nbformat.validate(notebook)  # a stray metadata dict displayed as data fails here
    (output,) = notebook.cells[0].outputs
    assert output.data == {results.GLUE_PREFIX + "text/plain": "'9,4'"}
    assert output.metadata["scrapbook"]["name"] == "x"


def test_every_published_table_is_displayed():
    """``results.publish`` returns the table's view: mid-cell, its value is lost and the page
    shows nothing (notebook 03's quality tables once). It must end its cell or be displayed."""
    import ast
    from pathlib import Path

    import jupytext

    lost = []
    for path in sorted(Path(__file__).resolve().parents[1].glob("notebooks/*.md")):
        for number, cell in enumerate(jupytext.read(path).cells):
            if cell.cell_type != "code":
                continue
            body = ast.parse(cell.source).body
            lost += [f"{path.name}, cell {number}" for statement in body[:-1]
                     if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
                     and ast.unparse(statement.value.func).endswith("results.publish")]
    assert not lost, lost
