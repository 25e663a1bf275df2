"""The notebooks' small result tables."""

from __future__ import annotations

import pytest

from lecture21.tables import Table, claims


def test_table_from_dict_text_and_html():
    table = Table.from_dict({"a": {"x": 1, "y": 2.5}, "b": {"x": 123456, "z": "s"}}, "модель")
    assert table.columns == ("модель", "x", "y", "z")
    assert table.cell("b", "x") == 123456 and table.column("y") == [2.5, ""]
    text = str(table)
    assert "123,456" in text and "2.5" in text
    assert "<td>123,456</td>" in table._repr_html_()
    assert str(Table(("год",), ((2012,),))).splitlines()[-1] == "2012"
    with pytest.raises(ValueError, match="columns"):
        table.column("w")
    with pytest.raises(ValueError, match="cells"):
        Table(("a", "b"), ((1,),))


def test_claims_table():
    table = claims([("c", "10", "60", False), ("d", "1", "1", True)])
    assert table.column("вывод") == ["неверно / уточнено", "верно"]
    with pytest.raises(ValueError, match="holds"):
        claims([("c", "10", "60", "no")])
