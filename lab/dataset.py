"""Datasets of the lab: the generated housing data, and the learner's own CSVs.

Every dataset is kept under `<workspace>/data/raw/<name>.csv`; `datasets.json` beside them
records which one is active and its target column. A new upload never overwrites another
dataset (a name already taken by other data gets a suffix, `-2`, `-3`...), and a file that
cannot be read is refused before anything is written. Writers of one workspace (sessions,
`python -m lab` processes) each write their own temporary file and update `datasets.json`
under a lock, so none loses another's dataset.
"""

from __future__ import annotations

import csv
import filecmp
import io
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lab.errors import DataError
from lab.names import MAX_FEATURES
from lab.workspace import Workspace, locked, read_json, write_json_atomic

GENERATED_NAME = "generated_housing"
DEFAULT_TARGET = "PRICE"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_COLUMNS = MAX_FEATURES  # what one feature group can hold
MAX_FIELD_CHARS = 131_072  # a header name longer than this is not a column name
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")

# The workshop's synthetic data has PRICE as an exact linear function of the features
# (rounded down to whole dollars); these weights make ours behave the same way.
_PRICE_WEIGHTS = {"YEAR_BUILT": 5000, "SQUARE_FEET": 150, "NUM_BEDROOMS": 10000,
                  "NUM_BATHROOMS": 15000, "LOT_ACRES": 15000, "GARAGE_SPACES": 15000}
_PRICE_YEAR_BASE = 2019


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    target: str
    rows: int
    columns: list[str]
    source: str  # "generated", "upload" or "file"

    def path(self, ws: Workspace) -> Path:
        return ws.raw_dir / f"{self.name}.csv"


def generate_housing(rows: int = 10_000, seed: int = 42) -> pd.DataFrame:
    """The workshop's housing schema, generated deterministically from `seed`."""
    if rows < 1:
        raise DataError("The generated dataset needs at least one row.")
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "YEAR_BUILT": np.clip(np.rint(rng.normal(1995, 10, rows)), 1950, 2019).astype("int64"),
        "SQUARE_FEET": np.clip(rng.normal(3000, 740, rows), 100, None),
        "NUM_BEDROOMS": rng.integers(2, 7, rows),
        "NUM_BATHROOMS": rng.integers(2, 7, rows) / 2.0,
        "LOT_ACRES": np.clip(np.round(rng.normal(1.0, 0.25, rows), 2), 0.05, None),
        "GARAGE_SPACES": rng.integers(0, 4, rows),
        "FRONT_PORCH": rng.integers(0, 2, rows),
        "DECK": rng.integers(0, 2, rows),
    })
    price = sum(df[col] * w for col, w in _PRICE_WEIGHTS.items()) - 5000 * _PRICE_YEAR_BASE
    df["PRICE"] = np.floor(price).astype("int64")
    return df


def read_csv_bytes(data: bytes, label: str = "the file") -> pd.DataFrame:
    """Parse a CSV, turning every way it can be unreadable into a DataError."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise DataError(f"{label} is {len(data) / 1e6:.0f} MB; the limit is "
                        f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Upload a smaller sample.")
    if not data.strip():
        raise DataError(f"{label} is empty. Upload a CSV with a header row and data rows.")
    _check_header(data, label)
    try:
        df = pd.read_csv(io.BytesIO(data))
    except UnicodeDecodeError:
        raise DataError(f"{label} is not UTF-8 text. Save it as a UTF-8 CSV.") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise DataError(f"{label} is not a well-formed CSV ({detail}). Check that every row "
                        "has as many fields as the header.") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{label} has no columns. Upload a CSV with a header row.") from None
    if df.empty:
        raise DataError(f"{label} has a header but no data rows.")
    if len(df.columns) < 2:
        raise DataError(f"{label} has a single column; it needs a target and at least one "
                        "feature (is the separator a comma?).")
    return df


def _check_header(data: bytes, label: str) -> None:
    """What pandas would accept silently or choke on: binary data, a header wider than a
    feature group, columns without a name, and repeated names (pandas renames them A.1)."""
    try:
        text = data[:1 << 20].decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < (1 << 20) - 4:  # not just a character cut at the end of the sample
            raise DataError(f"{label} is not UTF-8 text. Save it as a UTF-8 CSV.") from None
        text = data[:exc.start].decode("utf-8")
    if "\0" in text:
        raise DataError(f"{label} holds binary data (NUL bytes), not CSV text. Upload a CSV.")
    newline = data.find(b"\n")
    first = data[:newline if newline >= 0 else len(data)]
    if first.count(b",") + 1 > MAX_COLUMNS:  # quoted commas overcount: then count exactly
        try:
            width = len(next(csv.reader([first.decode("utf-8", "replace")])))
        except csv.Error:
            width = first.count(b",") + 1
        if width > MAX_COLUMNS:
            raise DataError(f"{label} has {width:,} columns; the lab takes at most "
                            f"{MAX_COLUMNS:,} (a feature group's limit). Keep fewer columns.")
    try:
        header = next(csv.reader(io.StringIO(text.lstrip("\ufeff"))), [])
    except csv.Error as exc:
        raise DataError(f"{label} has a header the lab cannot read ({exc}): the first row "
                        "must be the column names.") from None
    if len(header) > MAX_COLUMNS:
        raise DataError(f"{label} has {len(header):,} columns; the lab takes at most "
                        f"{MAX_COLUMNS:,} (a feature group's limit). Keep fewer columns.")
    if len(header) > 1:
        unnamed = [str(i + 1) for i, name in enumerate(header) if not name.strip()]
        if unnamed:
            raise DataError(f"Column {', '.join(unnamed[:5])} of {label} has no name: give "
                            "every column a name in the header row.")
        seen: set[str] = set()
        repeated = sorted({n for n in header if n in seen or seen.add(n)})
        if repeated:
            raise DataError(f"Column names must be unique; {label} has repeated names: "
                            f"{', '.join(map(repr, repeated[:5]))}. Rename the copies.")


def read_csv_path(path: str | os.PathLike) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"No file at {p}. Pass the path of a CSV file.")
    return read_csv_bytes(p.read_bytes(), label=p.name)


def safe_name(filename: str) -> str:
    stem = Path(str(filename)).name
    stem = stem[:-4] if stem.lower().endswith(".csv") else stem
    stem = _SAFE_NAME.sub("_", stem).strip("._-")[:64]
    return stem or "dataset"


def _registry(ws: Workspace) -> dict:
    return read_json(ws.raw_dir / "datasets.json", default={"active": None, "datasets": {}})


def _lock(ws: Workspace):
    return locked(ws.raw_dir)


def save_dataset(ws: Workspace, df: pd.DataFrame, name: str, target: str,
                 source: str, activate: bool = True) -> DatasetInfo:
    """Store `df` as a dataset named after `name` (written whole under a temporary name of
    its own, then renamed into place). The generated dataset keeps its name; other data
    never replaces a dataset with different content: it gets the next free name."""
    name = safe_name(name)
    if target not in df.columns:
        raise DataError(f"There is no column {target!r}. Pick the target among: "
                        f"{', '.join(map(str, df.columns))}.")
    ws.raw_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".csv.tmp", dir=ws.raw_dir)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            df.to_csv(fh, index=False)
        with _lock(ws):
            registry = _registry(ws)
            if source != "generated":
                name = _free_name(ws, registry, name, Path(tmp))
            info = DatasetInfo(name=name, target=target, rows=len(df),
                               columns=[str(c) for c in df.columns], source=source)
            os.replace(tmp, info.path(ws))
            registry["datasets"][name] = asdict(info)
            if activate:
                registry["active"] = name
            write_json_atomic(ws.raw_dir / "datasets.json", registry)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return info


def _free_name(ws: Workspace, registry: dict, name: str, content: Path) -> str:
    """`name`, or `name-2`, `name-3`...: the first that is free or holds this very data."""
    candidate, n = name, 1
    while True:
        path = ws.raw_dir / f"{candidate}.csv"
        taken = path.exists() or candidate in registry["datasets"]
        if not taken or (path.exists() and filecmp.cmp(path, content, shallow=False)):
            return candidate
        n += 1
        candidate = f"{name[:60]}-{n}"


def list_datasets(ws: Workspace) -> list[DatasetInfo]:
    return [DatasetInfo(**d) for d in _registry(ws)["datasets"].values()
            if (ws.raw_dir / f"{d['name']}.csv").exists()]


def active_dataset(ws: Workspace) -> DatasetInfo:
    """The dataset the next step will use; the generated one when none was chosen."""
    registry = _registry(ws)
    name = registry.get("active")
    if name and name in registry["datasets"]:
        info = DatasetInfo(**registry["datasets"][name])
        if info.path(ws).exists():
            return info
    return ensure_generated(ws)


def ensure_generated(ws: Workspace) -> DatasetInfo:
    registry = _registry(ws)
    if GENERATED_NAME in registry["datasets"] and (ws.raw_dir / f"{GENERATED_NAME}.csv").exists():
        info = DatasetInfo(**registry["datasets"][GENERATED_NAME])
        if registry.get("active") != GENERATED_NAME:
            set_active(ws, GENERATED_NAME, info.target)
        return info
    return save_dataset(ws, generate_housing(), GENERATED_NAME, DEFAULT_TARGET, "generated")


def set_active(ws: Workspace, name: str, target: str) -> DatasetInfo:
    with _lock(ws):
        registry = _registry(ws)
        if name not in registry["datasets"]:
            raise DataError(f"There is no dataset named {name!r} in this workspace.")
        entry = registry["datasets"][name]
        if target not in entry["columns"]:
            raise DataError(f"There is no column {target!r}. Pick the target among: "
                            f"{', '.join(entry['columns'])}.")
        entry["target"] = target
        registry["active"] = name
        write_json_atomic(ws.raw_dir / "datasets.json", registry)
    return DatasetInfo(**entry)


def load_dataset(ws: Workspace, info: DatasetInfo) -> pd.DataFrame:
    return pd.read_csv(info.path(ws))
