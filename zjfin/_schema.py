"""The data contract: table schemas, reference code lists and policy tables.

Everything is read from the ``data_schemas/`` folder of the repository, installed as the
``zjfin.data_schemas`` package data. There is no second copy of the contract in code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import pandas as pd

from zjfin._errors import SchemaError

__all__ = [
    "Column",
    "TableSchema",
    "table_schema",
    "input_tables",
    "output_tables",
    "reference_table",
    "policy_table",
    "header_key",
    "validation_codes",
    "list_table",
    "risk_level_columns",
]

_TYPES = {"str", "int", "float", "date", "bool", "list"}
# Characters ignored when matching a header to a name or alias.
_HEADER_NOISE = re.compile(r"[\s_\-()（）\[\]【】:：]+")
# Unit suffixes often appended to statement headers: 营业收入（万元）, revenue (yuan).
_UNIT_SUFFIX = re.compile(r"[(（\[【]\s*(元|万元|亿元|人|亩|股|万股|%|yuan|10k_yuan|100m_yuan)\s*[)）\]】]\s*$", re.I)


def header_key(header: object) -> str:
    """Normalise a column header for matching: case, spaces, brackets and unit suffixes
    do not matter.

    Examples
    --------
    >>> header_key(" 营业收入（万元） "), header_key("Total_Assets")
    ('营业收入', 'totalassets')
    """
    text = str(header).strip().lstrip("\ufeff")
    text = _UNIT_SUFFIX.sub("", text)
    return _HEADER_NOISE.sub("", text).lower()


@dataclass(frozen=True)
class Column:
    """One column of a table schema."""

    name: str
    type: str
    unit: str | None
    required: bool
    label_zh: str
    aliases: tuple[str, ...]
    constraints: dict[str, Any]
    description: str
    since: str | None = None
    engine: str | None = None
    """For an output column: the engine or stage that writes it (``screening.json``)."""

    @property
    def is_money(self) -> bool:
        """Whether the reader scales this column by the dataset's money unit."""
        return self.unit == "yuan"


@dataclass(frozen=True)
class TableSchema:
    """A table of the data contract (see ``data_schemas/README.md``)."""

    table: str
    kind: str
    required: bool
    label_zh: str
    aliases: tuple[str, ...]
    primary_key: tuple[str, ...]
    description: str
    columns: tuple[Column, ...]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_names(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise SchemaError(f"table {self.table!r} has no column {name!r}")

    def header_map(self) -> dict[str, str]:
        """Map every accepted header key (name, Chinese label, aliases) to its column."""
        mapping: dict[str, str] = {}
        for c in self.columns:
            for header in (c.name, c.label_zh, *c.aliases):
                key = header_key(header)
                owner = mapping.setdefault(key, c.name)
                if owner != c.name:
                    raise SchemaError(
                        f"table {self.table!r}: header {header!r} is claimed by both "
                        f"{owner!r} and {c.name!r}"
                    )
        return mapping

    def to_frame(self) -> pd.DataFrame:
        """The columns as a table (what ``zjfin schema TABLE`` prints)."""
        return pd.DataFrame(
            {
                "name": [c.name for c in self.columns],
                "type": [c.type for c in self.columns],
                "unit": [c.unit or "" for c in self.columns],
                "required": [c.required for c in self.columns],
                "label_zh": [c.label_zh for c in self.columns],
                "aliases": [", ".join(c.aliases) for c in self.columns],
                "constraints": [
                    json.dumps(c.constraints, ensure_ascii=False) if c.constraints else ""
                    for c in self.columns
                ],
                "description": [c.description for c in self.columns],
            }
        )


def _schema_files():
    return resources.files("zjfin.data_schemas")


@lru_cache(maxsize=None)
def table_schema(table: str) -> TableSchema:
    """Load one table's schema.

    Examples
    --------
    >>> table_schema("firms").column("firm_id").label_zh
    '统一社会信用代码'
    """
    path = _schema_files() / f"{table}.json"
    if not path.is_file():
        known = ", ".join(input_tables() + output_tables())
        raise SchemaError(f"unknown table {table!r}; known tables: {known}")
    raw = json.loads(path.read_text(encoding="utf-8"))
    columns = []
    source = raw.get("columns_from")
    if source:  # a view of another table: its columns named, everything else taken from there
        return _view(raw, table_schema(source))
    for c in raw["columns"]:
        if c["type"] not in _TYPES:
            raise SchemaError(f"{table}.{c['name']}: unknown type {c['type']!r}")
        columns.append(
            Column(
                name=c["name"],
                type=c["type"],
                unit=c.get("unit"),
                required=bool(c.get("required", False)),
                label_zh=c.get("label_zh", c["name"]),
                aliases=tuple(c.get("aliases", ())),
                constraints=dict(c.get("constraints") or {}),
                description=c.get("description", ""),
                since=c.get("since"),
                engine=c.get("engine"),
            )
        )
    return TableSchema(
        table=raw["table"],
        kind=raw["kind"],
        required=bool(raw.get("required", False)),
        label_zh=raw.get("label_zh", raw["table"]),
        aliases=tuple(raw.get("aliases", ())),
        primary_key=tuple(raw.get("primary_key", ())),
        description=raw.get("description", ""),
        columns=tuple(columns),
        raw=raw,
    )


def _view(raw: dict[str, Any], source: TableSchema) -> TableSchema:
    """A table whose columns are a selection of another's (``columns_from``), declared once there."""
    unknown = [name for name in raw["columns"] if name not in source.names]
    if unknown:
        raise SchemaError(f"{raw['table']}: columns {unknown} are not in {source.table}")
    return TableSchema(table=raw["table"], kind=raw["kind"], required=bool(raw.get("required", False)),
                       label_zh=raw.get("label_zh", raw["table"]), aliases=tuple(raw.get("aliases", ())),
                       primary_key=tuple(raw.get("primary_key", ())), description=raw.get("description", ""),
                       columns=tuple(source.column(name) for name in raw["columns"]), raw=raw)


#: Input tables in the order they are read and validated (firms first: others refer to it).
_INPUT_ORDER = ("firms", "financials", "bonds", "pledges", "prices", "guarantees", "loans")


@lru_cache(maxsize=None)
def _all_tables() -> dict[str, str]:
    kinds = {}
    for entry in _schema_files().iterdir():
        if entry.name.endswith(".json") and entry.name not in {"validation_codes.json", "reason_codes.json"}:
            raw = json.loads(entry.read_text(encoding="utf-8"))
            kinds[raw["table"]] = raw["kind"]
    return kinds


def input_tables() -> list[str]:
    """Names of the input tables, ``firms`` first."""
    found = [t for t, k in _all_tables().items() if k == "input"]
    return [t for t in _INPUT_ORDER if t in found] + sorted(set(found) - set(_INPUT_ORDER))


def output_tables() -> list[str]:
    """Names of the output tables."""
    return sorted(t for t, k in _all_tables().items() if k == "output")


@lru_cache(maxsize=None)
def reference_table(name: str) -> pd.DataFrame:
    """A code list from ``data_schemas/reference/`` (read as text, never as numbers)."""
    path = _schema_files() / "reference" / f"{name}.csv"
    with path.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@lru_cache(maxsize=None)
def policy_table(name: str) -> pd.DataFrame:
    """A rule table from ``data_schemas/policy/`` (e.g. ``size_class_2011``)."""
    path = _schema_files() / "policy" / f"{name}.csv"
    if not path.is_file():
        raise SchemaError(f"unknown policy table {name!r}")
    with path.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype={"prefix": str, "sector": str})


@lru_cache(maxsize=None)
def validation_codes() -> pd.DataFrame:
    """The catalogue of validation finding codes: code, severity, message templates."""
    raw = json.loads((_schema_files() / "validation_codes.json").read_text(encoding="utf-8"))
    return pd.DataFrame(raw["codes"]).set_index("code", drop=False)


@lru_cache(maxsize=None)
def list_table() -> pd.DataFrame:
    """The lists, once (``data_schemas/reference/lists.csv``): key, Chinese and English
    names, the stem of ``lists/<file>.parquet`` and the workbook sheet (empty for
    ``none``, which has neither), and the Chinese definition (fields in braces come from
    the policy), in the default precedence order with ``none`` last.

    Examples
    --------
    >>> list_table()["key"].tolist()
    ['watch', 'relief', 'quality', 'sme_funding', 'none']
    """
    return reference_table("lists").set_index("key", drop=False)


@lru_cache(maxsize=None)
def risk_level_columns() -> tuple[str, ...]:
    """The screening columns that hold a risk level (``none`` < ``low`` < ``medium`` <
    ``high``), in schema order.

    Examples
    --------
    >>> risk_level_columns()
    ('bond_risk', 'liquidity_risk', 'pledge_risk', 'guarantee_risk')
    """
    from zjfin.risks import RISK_LEVELS

    levels = list(RISK_LEVELS)
    return tuple(c.name for c in table_schema("screening").columns if c.constraints.get("enum") == levels)
