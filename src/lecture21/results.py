"""One results store for every number the book shows: a JSON-lines file under the cache.

Every training run (``train_or_load`` calls :func:`record_run`) and every measurement table a
notebook shows (:func:`record_table`) becomes rows of ``cache_dir()/results.jsonl``, with the
profile, device, data source, date and package versions that produced them. The book's results
page reads the store (:func:`read`, :func:`latest`) at build time, so nothing there is typed by
hand, and the tables the notebooks show are the same pandas DataFrames (:func:`show`).

A notebook names itself once (``results.notebook("01_cnn_basics")``); the rows it records then
carry its name and a session id, so the results page shows each notebook's latest execution.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import json
import math
import os
import platform
import uuid
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from lecture21.config import cache_dir, get_device, get_profile

__all__ = [
    "CLAIMS_COLUMNS",
    "COLUMNS",
    "claims",
    "claims_tables",
    "glue",
    "latest",
    "notebook",
    "parts",
    "publish",
    "read",
    "record",
    "record_run",
    "record_table",
    "show",
    "store_path",
    "table",
]

#: The standard fields of a row, in the order :func:`read` puts them first.
COLUMNS = (
    "kind", "notebook", "part", "table", "row", "model", "variant", "profile", "device", "data",
    "params", "macs", "test_accuracy", "train_time_s", "date", "versions", "session",
)

_CONTEXT: dict[str, str | None] = {"notebook": None, "part": None, "session": None}


def store_path() -> Path:
    """Where the store is: ``cache_dir()/results.jsonl``."""
    return cache_dir() / "results.jsonl"


def notebook(name: str, part: str | None = None) -> str:
    """Name the notebook that is running (``"01_cnn_basics"``) and start a new session.

    Rows recorded afterwards in this process carry ``notebook``, ``part`` and the session id,
    which is returned.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty notebook name, got {name!r}")
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S.%f")  # sorts by time
    _CONTEXT.update(notebook=name, part=part, session=f"{stamp}-{uuid.uuid4().hex[:8]}")
    return _CONTEXT["session"]


def _versions() -> dict[str, str]:
    import timm
    import torchvision

    from lecture21 import __version__

    return {"python": platform.python_version(), "lecture21": __version__,
            "torch": torch.__version__, "torchvision": torchvision.__version__,
            "timm": timm.__version__, "pandas": pd.__version__}


def _plain(value: Any) -> Any:
    """A JSON-friendly copy: numpy/torch scalars to Python numbers, NaN to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def record(
    *,
    kind: str = "run",
    model: str | None = None,
    variant: str | None = None,
    profile: str | None = None,
    device: str | None = None,
    data: str | None = None,
    params: int | None = None,
    macs: int | None = None,
    test_accuracy: float | None = None,
    train_time_s: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Append one row to the store atomically and return it.

    ``profile`` and ``device`` default to the current ones; the date (UTC), package versions,
    and the notebook, part and session set by :func:`notebook` are added. ``extra`` holds any
    further fields (JSON-serialisable; other objects are stored as their ``str``).
    """
    if kind not in ("run", "table"):
        raise ValueError(f"kind must be 'run' or 'table', got {kind!r}")
    clash = sorted(set(extra) & {"date", "versions", "session"})
    if clash:
        raise ValueError(f"{', '.join(clash)} are filled in by record(), not passed to it")
    row: dict[str, Any] = {
        "kind": kind, "notebook": _CONTEXT["notebook"], "part": _CONTEXT["part"],
        "model": model, "variant": variant,
        "profile": profile or get_profile().name, "device": device or str(get_device()),
        "data": data, "params": params, "macs": macs, "test_accuracy": test_accuracy,
        "train_time_s": train_time_s,
    }
    row.update(extra)
    row.update(date=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
               versions=_versions(), session=_CONTEXT["session"])
    line = (json.dumps(_plain(row), ensure_ascii=False) + "\n").encode()
    path = store_path()
    # One write() of the whole line under an exclusive lock, to a file opened for appending:
    # rows written at the same time by several processes never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line)
    finally:
        os.close(fd)  # closing releases the lock
    return row


def _example_macs(model: torch.nn.Module, example: torch.Tensor) -> int:
    """Multiply-adds of one forward pass on one example, as the engine feeds it."""
    from torch.utils.flop_counter import FlopCounterMode

    from lecture21.helpers import eval_mode, model_device
    from lecture21.train.evaluation import to_input

    with torch.no_grad(), eval_mode(model), FlopCounterMode(display=False) as counter:
        model(to_input(example, model_device(model)))
    return counter.get_total_flops() // 2


def record_run(result, data) -> dict[str, Any]:
    """Record a finished (trained or loaded) ``TrainResult`` of ``train_or_load`` on ``data``.

    Parameters and multiply-adds (per example) are measured on ``result.model``; the model
    name, variant, options, profile and split sizes come from ``result.extra``.
    """
    extra = dict(result.extra)
    test_x = data.test_x
    return record(
        model=extra.pop("model", type(result.model).__name__),
        variant=extra.pop("variant", None),
        profile=extra.pop("profile", None),
        device=str(result.device),
        data=getattr(data, "source", None),
        params=sum(p.numel() for p in result.model.parameters()),
        macs=_example_macs(result.model, test_x[:1]),
        test_accuracy=float(result.test_accuracy),
        train_time_s=float(result.train_time_s),
        epochs=len(result.history),
        images_per_s=float(result.images_per_s),
        loaded=bool(result.loaded),
        run=result.checkpoint_path.stem if result.checkpoint_path else None,
        hp=_plain(vars(result.hp)),
        **extra,
    )


def record_table(name: str, frame: pd.DataFrame, **fields: Any) -> pd.DataFrame:
    """Record every row of a table a notebook shows (``name`` identifies it in the notebook).

    Each row is stored with its label (``frame.index``) and its cells under their column
    names; :func:`table` rebuilds the frame. Returns ``frame``, so a cell can end with it.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty table name, got {name!r}")
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        raise ValueError(f"frame must have unique column names, got {columns}")
    for position, (label, values) in enumerate(frame.iterrows()):
        cells = {str(k): _plain(v) for k, v in values.items()}
        record(kind="table", table=name, row=_plain(label), position=position,
               columns=columns, index_name=frame.index.name, cells=cells, **fields)
    return frame


def read(path: str | Path | None = None) -> pd.DataFrame:
    """Every row of the store as a DataFrame (an empty one, with :data:`COLUMNS`, if none).

    A line that is not valid JSON (a write cut short by a crash) is skipped with a warning.
    """
    path = Path(path) if path is not None else store_path()
    rows = []
    if path.is_file():
        with open(path, encoding="utf-8") as file:
            for number, line in enumerate(file, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    warnings.warn(f"{path}:{number}: not a JSON row, skipped", stacklevel=2)
    frame = pd.DataFrame(rows)
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    rest = [c for c in frame.columns if c not in COLUMNS]
    return frame[[*COLUMNS, *rest]]


def latest(frame: pd.DataFrame | None = None, profile: str | None = None) -> pd.DataFrame:
    """The rows of each notebook's latest session in ``profile`` (default: the current one).

    Rows recorded outside a notebook (the command line, scripts) are kept as the latest row of
    each run.
    """
    frame = read() if frame is None else frame
    profile = profile or get_profile().name
    frame = frame[frame["profile"] == profile]
    in_notebook = frame[frame["notebook"].notna() & frame["session"].notna()]
    last = in_notebook.groupby("notebook")["session"].max()
    keep = in_notebook[in_notebook["session"] == in_notebook["notebook"].map(last)]
    outside = frame[frame["notebook"].isna() & (frame["kind"] == "run")]
    if "run" in outside.columns:
        outside = outside.drop_duplicates("run", keep="last")
    return pd.concat([keep, outside]).reset_index(drop=True)


def table(frame: pd.DataFrame, name: str, notebook: str | None = None) -> pd.DataFrame:
    """Rebuild the table ``name`` recorded by :func:`record_table` from rows of the store."""
    rows = frame[(frame["kind"] == "table") & (frame["table"] == name)]
    if notebook is not None:
        rows = rows[rows["notebook"] == notebook]
    if rows.empty:
        raise ValueError(f"name must be a recorded table, got {name!r}")
    rows = rows.sort_values("position", kind="stable")
    columns = rows.iloc[-1]["columns"]
    body = pd.DataFrame([r["cells"] for _, r in rows.iterrows()], columns=columns)
    index_name = rows.iloc[-1]["index_name"]
    body.index = pd.Index(list(rows["row"]),
                          name=index_name if isinstance(index_name, str) else None)
    return body


def _format(value: Any) -> str:
    value = _plain(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)  # an int column that pandas turned to floats (a missing cell)
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u202f") if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        return f"{value:,.4g}".replace(",", "\u202f") if abs(value) < 1e4 else (
            f"{value:,.0f}".replace(",", "\u202f"))
    if isinstance(value, list | tuple):
        return ", ".join(_format(v) for v in value)
    return str(value)


def show(frame: pd.DataFrame, caption: str | None = None, percent: tuple[str, ...] = ()):
    """The styled view the notebooks and the results page display: thousands separated by a
    thin space (from 10,000), 4 significant digits, ``percent`` columns as ``12.3%``."""
    formats = {c: _format for c in frame.columns}
    for column in percent:
        if column not in frame.columns:
            raise ValueError(f"percent must name columns of the frame, got {column!r}")
        formats[column] = lambda v: "" if v is None or v != v else f"{v:.1%}"
    styler = frame.style.format(formats).format_index(_format)
    if caption:
        styler = styler.set_caption(caption)
    return styler


def publish(
    name: str,
    frame: pd.DataFrame,
    caption: str | None = None,
    percent: tuple[str, ...] = (),
    **fields: Any,
):
    """Record a table a notebook shows (:func:`record_table`) and return its styled view
    (:func:`show`): the last line of a notebook cell that shows a measurement table."""
    record_table(name, frame, caption=caption, percent=list(percent), **fields)
    return show(frame, caption, percent)


GLUE_PREFIX = "application/papermill.record/"  # what myst-nb's glue reads from an output


def glue(name: str, value: Any, fmt: str = "") -> str:
    """Hand a number computed in a cell to the notebook's prose, where ``{glue:text}`name```
    pastes it in the book (myst-nb's glue, without needing myst-nb in the kernel).

    Numbers are written the Russian way: ``format(value, fmt)`` with a thin space between
    thousands and a decimal comma (``glue("n", 61.1, ".1f")`` pastes ``61,1``); strings are
    pasted as they are. Returns the pasted text; outside IPython nothing is displayed.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be an identifier-like glue key, got {name!r}")
    text = format(value, fmt)
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = text.replace(",", "\u202f").replace(".", ",").replace("%", "\u202f%")
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with every notebook kernel
        return text
    if get_ipython() is not None:
        data, metadata = glue_output(name, text)
        display(data, raw=True, metadata=metadata)
    return text


def glue_output(name: str, text: str) -> tuple[dict, dict]:
    """The data and metadata of the output that glues ``text`` under ``name``. myst-nb reads
    the text through ``ast.literal_eval`` (to strip a string's quotes): it is stored quoted, or
    a decimal comma would turn ``9,4`` into the tuple ``(9, 4)`` on the page."""
    return ({GLUE_PREFIX + "text/plain": repr(text)},
            {"scrapbook": {"name": name, "mime_prefix": GLUE_PREFIX}})


#: The columns of a claims table (``measure.claims_table``); «источник» is optional, so a
#: table written before that column existed is still collected.
CLAIMS_COLUMNS = ("в лекции", "источник", "измерено", "вывод")
_CLAIMS_REQUIRED = ("в лекции", "измерено", "вывод")


def claims(name: str, frame: pd.DataFrame, caption: str | None = None, **fields: Any):
    """Publish a notebook's «в лекции / источник / измерено / вывод» table so that the
    conclusion collects it (:func:`claims_tables`): :func:`publish` that checks the columns.

    One line in a notebook: ``results.claims("resnet_claims", measure.claims_table(rows))``.
    (Any table published with those columns is collected too; this call makes the intent
    explicit and fails early on a table the conclusion could not read.)
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in _CLAIMS_REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"frame must have the claims columns {list(CLAIMS_COLUMNS)}, "
                         f"missing {missing}")
    return publish(name, frame, caption, claims=True, **fields)


def _is_claims(columns: Any) -> bool:
    return isinstance(columns, list) and all(c in columns for c in _CLAIMS_REQUIRED)


def claims_tables(frame: pd.DataFrame | None = None, profile: str | None = None) -> pd.DataFrame:
    """Every claims table of every notebook's latest session in ``profile`` as one frame.

    A claims table is any recorded table with the columns «в лекции», «измерено», «вывод»
    (and optionally «источник»). Columns: «часть», «тетрадь», «таблица», «утверждение» and
    :data:`CLAIMS_COLUMNS`, in the notebooks' order and each table's row order.
    """
    rows = latest(frame, profile)
    if "columns" in rows.columns:
        rows = rows[(rows["kind"] == "table") & rows["columns"].map(_is_claims)]
    header = ["часть", "тетрадь", "таблица", "утверждение", *CLAIMS_COLUMNS]
    if rows.empty or "columns" not in rows.columns:
        return pd.DataFrame(columns=header)
    body = []
    for (name, table_name), group in rows.groupby(["notebook", "table"], sort=False):
        part = group["part"].dropna()
        for claim, cells in table(group, table_name).iterrows():
            body.append([part.iloc[0] if len(part) else name, name, table_name, claim,
                         *(cells.get(c, "") for c in CLAIMS_COLUMNS)])
    out = pd.DataFrame(body, columns=header)
    return out.sort_values("тетрадь", kind="stable").reset_index(drop=True)


def parts(names: list[str], frame: pd.DataFrame | None = None,
          profile: str | None = None) -> pd.DataFrame:
    """Which of the notebooks ``names`` have results in ``profile``: one row per name with its
    part title (as the notebook named it), session date and the number of runs and tables;
    ``ran`` is False for a notebook that has not run (the conclusion says so in one line)."""
    if isinstance(names, str) or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"names must be a list of notebook names, got {names!r}")
    rows = latest(frame, profile)
    body = []
    for name in names:
        own = rows[rows["notebook"] == name]
        part = own["part"].dropna()
        body.append({"notebook": name, "part": part.iloc[0] if len(part) else None,
                     "ran": not own.empty, "date": own["date"].max() if len(own) else None,
                     "runs": int((own["kind"] == "run").sum()),
                     "tables": int(own.loc[own["kind"] == "table", "table"].nunique())})
    return pd.DataFrame(body, columns=["notebook", "part", "ran", "date", "runs", "tables"])
