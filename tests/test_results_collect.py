"""The conclusion's view of the results store: every notebook's claims tables gathered into
one, and which parts of the course have run."""

from __future__ import annotations

import pandas as pd
import pytest
from support import results_store  # noqa: F401  (the `store` fixture: an empty results store)

from lecture21 import results


def _claims(*rows):
    """A claims table as measure.claims_table writes it (built here so that this test does not
    depend on that function's row format)."""
    return pd.DataFrame([(lecture, measured, "верно" if holds else "неверно / уточнено")
                         for _, lecture, measured, holds in rows],
                        columns=["в лекции", "измерено", "вывод"],
                        index=pd.Index([r[0] for r in rows], name="утверждение"))


def test_claims_tables_of_the_latest_sessions_are_gathered_in_notebook_order(store):
    results.notebook("05_vgg", part="VGG")
    results.claims("vgg_claims", _claims(("VGG-16: 138 млн", "138", "138,4", True)))
    results.notebook("01_basics", part="Основы")
    results.publish("split", pd.DataFrame({"a": [1]}))  # not a claims table: left out
    results.publish("old_claims", _claims(("устаревшее", "1", "2", False)))
    results.notebook("01_basics", part="Основы")  # a later session replaces the first
    results.publish("basics_claims", _claims(("свёртка дешевле", "в 10 раз", "в 12 раз", True),
                                             ("пулинг обязателен", "да", "нет", False)))
    got = results.claims_tables()
    assert list(got.columns) == ["часть", "тетрадь", "таблица", "утверждение",
                                 *results.CLAIMS_COLUMNS]
    assert list(got["утверждение"]) == ["свёртка дешевле", "пулинг обязателен", "VGG-16: 138 млн"]
    assert list(got["часть"]) == ["Основы", "Основы", "VGG"]
    assert list(got["вывод"]) == ["верно", "неверно / уточнено", "верно"]
    assert list(got["измерено"]) == ["в 12 раз", "нет", "138,4"]


def test_a_table_with_a_source_column_keeps_it_and_others_get_an_empty_one(store):
    results.notebook("06_resnet")
    with_source = _claims(("ResNet-152: 4,5 %", "4,5 %", "3,57 %", False))
    with_source.insert(1, "источник", "he2016resnet, табл. 4")
    results.claims("resnet_claims", with_source)
    results.notebook("07_more")
    results.claims("more_claims", _claims(("a", "1", "1", True)))
    got = results.claims_tables().set_index("утверждение")["источник"]
    assert got["ResNet-152: 4,5 %"] == "he2016resnet, табл. 4" and got["a"] in ("", None)


def test_other_profiles_and_an_empty_store_give_no_claims(store, monkeypatch):
    assert results.claims_tables().empty
    results.notebook("01_basics")
    results.claims("c", _claims(("a", "1", "1", True)))
    assert results.claims_tables(profile="quick").empty
    assert len(results.claims_tables(profile="smoke")) == 1


def test_claims_rejects_a_table_without_the_claims_columns(store):
    with pytest.raises(ValueError, match="frame must have the claims columns"):
        results.claims("x", pd.DataFrame({"в лекции": [1]}))
    with pytest.raises(ValueError, match="frame must be a pandas DataFrame"):
        results.claims("x", [("a", "1", "1", True)])


def test_parts_say_which_notebooks_ran(store):
    results.notebook("01_basics", part="Основы")
    results.record(model="m", test_accuracy=0.5)
    results.publish("t", pd.DataFrame({"a": [1, 2]}))
    got = results.parts(["01_basics", "06_resnet"]).set_index("notebook")
    assert got.loc["01_basics", ["part", "ran", "runs", "tables"]].tolist() == [
        "Основы", True, 1, 1]
    assert not got.loc["06_resnet", "ran"] and got.loc["06_resnet", "runs"] == 0
    with pytest.raises(ValueError, match="names must be a list of notebook names"):
        results.parts("01_basics")
