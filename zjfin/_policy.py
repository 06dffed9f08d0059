"""The screening policy: every threshold, weight, horizon and table, with defaults.

The defaults and their sources live in ``data_schemas/policy/default_policy.toml``;
:meth:`Policy.default` reads that file and :meth:`Policy.to_toml` writes it back with the
comments kept, so ``zjfin policy --default`` prints the one source of truth.

What a valid value is — each key's range or allowed values, and the orders between keys —
is declared once, in :data:`CONSTRAINTS` (the constraint kinds are in
``zjfin._constraints``). A policy is checked whole when it is made, so a bad policy file
fails before any data is read, with every problem in one :class:`~zjfin.PolicyError`.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Mapping

from zjfin._constraints import (
    Compare,
    Constraint,
    DisjointFrom,
    Flag,
    Key,
    Labels,
    OneOf,
    OrderOf,
    Real,
    Satisfies,
    SubsetOf,
    Weights,
    Whole,
)
from zjfin._errors import PolicyError, SchemaError
from zjfin._schema import list_table, policy_table, reference_table, risk_level_columns, table_schema

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["Policy", "CONSTRAINTS"]

_KEY_LINE = re.compile(r"^(\s*)([A-Za-z0-9_]+)(\s*=\s*)(.*?)\s*$")
_SECTION_LINE = re.compile(r"^\s*\[([A-Za-z0-9_.]+)\]\s*$")


def _default_text() -> str:
    return (resources.files("zjfin.data_schemas") / "policy" / "default_policy.toml").read_text(encoding="utf-8")


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean (true/false)"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


Problems = list[tuple[str, str]]


def _check(path: str, default: Any, value: Any, problems: Problems) -> Any:
    """Return ``value`` coerced to the default's type; a value that is not (or an unknown
    key) adds ``(key, message)`` to ``problems`` and keeps the default, so that the rest
    of the policy is still checked and every problem is reported at once."""
    if isinstance(default, dict):
        if not isinstance(value, Mapping):
            problems.append((path, f"policy key {path!r} must be a table ([{path}]), got {value!r}"))
            return copy.deepcopy(default)
        out = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in default:
                known = ", ".join(sorted(default))
                problems.append((where, f"unknown policy key {where!r}; known keys here: {known}"))
                continue
            out[key] = _check(where, default[key], item, problems)
        return {**copy.deepcopy(default), **out}
    expected = _type_name(default)
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and not math.isfinite(float(value)):
            ok, expected = False, "a finite number"
        elif ok and isinstance(default, float):
            value = float(value)
        elif ok and not float(value).is_integer():
            ok, expected = False, "a whole number"
        elif ok:
            value = int(value)
    elif isinstance(default, list):
        ok = isinstance(value, list)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        problems.append((path, f"policy key {path!r} must be {expected}, got {value!r}"))
        return copy.deepcopy(default)
    return value


# --------------------------------------------------------------------------- constraints
# The allowed values that the data contract already states are read from it (once, when
# first needed), never written again here.


@lru_cache(maxsize=None)
def _list_keys() -> tuple[str, ...]:
    """The lists a firm can be put on (lists.csv; ``none``, with no list file, is not one)."""
    table = list_table()
    return tuple(table.loc[table["file"] != "", "key"])


@lru_cache(maxsize=None)
def _risk_levels() -> tuple[str, ...]:
    """The levels of the screening's risk columns, lowest (``none``) first."""
    return tuple(table_schema("screening").column(risk_level_columns()[0]).constraints["enum"])


def _seed_levels() -> tuple[str, ...]:
    # "none" as a seed level would seed every firm: the levels above it.
    return _risk_levels()[1:]


def _industry_codes_problem(codes: list[Any]) -> str | None:
    wrong = [c for c in codes if not (isinstance(c, str) and re.fullmatch(r"[A-T]\d{2,3}", c))]
    if wrong:
        return f"not a section letter with 2–3 digits: {wrong}"
    return "repeated" if len(set(codes)) < len(codes) else None


def _trigger_problem(triggers: list[Any]) -> str | None:
    """What is wrong with a list of relief triggers ``risk:level``, or None."""
    for trigger in triggers:
        risk, _, level = str(trigger).partition(":")
        if risk not in risk_level_columns():
            return f"{trigger!r}: the risk is not one of {', '.join(risk_level_columns())}"
        if level not in _seed_levels():
            return f"{trigger!r}: the level is not one of {', '.join(_seed_levels())}"
    return None


def _enum(table: str, column: str) -> tuple[str, ...]:
    return tuple(table_schema(table).column(column).constraints["enum"])


@lru_cache(maxsize=None)
def _sme_size_classes() -> tuple[str, ...]:
    # "unknown" is a verdict for missing data, not a size a policy can select.
    return tuple(c for c in _enum("screening", "size_class") if c != "unknown")


@lru_cache(maxsize=None)
def _gb4754_sections() -> tuple[str, ...]:
    return tuple(reference_table("gb4754_2017_sections")["section"])


@lru_cache(maxsize=None)
def _bond_horizons() -> tuple[int, ...]:
    """The horizons the screening has a ``bond_due_<N>m`` column for: the bond engine must
    write each of them (a missing one fails the screening), and an extra one has no column."""
    names = (re.fullmatch(r"bond_due_(\d+)m", c.name) for c in table_schema("screening").columns)
    return tuple(sorted(int(m.group(1)) for m in names if m))


@lru_cache(maxsize=None)
def _parquet_codecs() -> tuple[str, ...]:
    """The Parquet compressions that pyarrow writes, as far as this build of it has them."""
    import pyarrow as pa

    return (*(c for c in ("zstd", "snappy", "gzip", "brotli", "lz4") if pa.Codec.is_available(c)), "none")


def _size_table_problem(name: str) -> str | None:
    """Why ``name`` is not a usable size-class table (``None``: it is)."""
    from zjfin._features import _INDICATORS

    try:
        table = policy_table(name)
    except SchemaError:
        return "no such table in data_schemas/policy/"
    # What zjfin._features.size_class reads: the code prefix and each indicator's floors.
    needed = ["prefix", *(f"{i}_{level}" for i in _INDICATORS for level in ("large", "medium", "small"))]
    lacking = [c for c in needed if c not in table.columns]
    if lacking:
        return f"a table without the columns {', '.join(lacking)}"
    if not (table["prefix"].astype(str) == "*").any():
        return "no '*' row for the industries it does not name"
    return None


_SHARE = Real(0, 1)
_POSITIVE = Real(0, open_low=True)
_NON_NEGATIVE = Real(0)

#: Every policy key's constraints, in the order of the default file. Each value must be
#: of its default's type (checked before these); then each constraint in its list, the
#: ones naming another key (``Compare``, ``DisjointFrom``, ``OneOf(Key(...))``) only when
#: that key is itself valid. Every key of ``default_policy.toml`` has an entry.
CONSTRAINTS: dict[str, tuple[Constraint, ...]] = {
    "validation.firm_id_format": (OneOf(("uscc", "any")),),
    "validation.balance_tolerance": (_SHARE,),
    "validation.max_abs_money": (_POSITIVE,),
    "validation.warning_limit_share": (_SHARE,),
    "validation.min_coverage": (_SHARE,),
    "size_class.table": (Satisfies("a size-class table of data_schemas/policy/ (e.g. size_class_2011)",
                                   _size_table_problem),),
    "output.mask_person_ids": (Flag(),),
    "output.parquet_compression": (OneOf(_parquet_codecs),),
    "distress.z2_weights": (Weights(4),),
    "distress.z2_distress_below": (Real(), Compare("<=", "distress.z2_safe_above")),
    "distress.z2_safe_above": (Real(),),
    # The firm frame carries three fiscal years: the current one and two before it.
    "zombie.loss_years": (Whole(1, 3),),
    "zombie.debt_ratio_above": (_SHARE,),
    "zombie.require_liability_growth": (Flag(),),
    # A drop is ≥ 0 by definition: 0 would make every firm with a known growth not viable.
    "viability.max_revenue_drop": (Real(0, 1, open_low=True),),
    "bonds.horizons_months": (OrderOf(_bond_horizons, what="the horizons of the screening's bond_due_<N>m columns"),),
    "bonds.risk_horizon_months": (Whole(1),),
    "bonds.high_coverage_below": (_NON_NEGATIVE, Compare("<=", "bonds.medium_coverage_below")),
    "bonds.medium_coverage_below": (_NON_NEGATIVE,),
    "bonds.min_rating": (OneOf(Key("bonds.rating_scale")),),
    "bonds.rating_scale": (Labels(),),
    "liquidity.high_classifications": (
        SubsetOf(lambda: _enum("loans", "classification"), what="loan classifications"),
        DisjointFrom("liquidity.medium_classifications")),
    "liquidity.high_overdue_days_above": (Whole(0),),
    "liquidity.medium_classifications": (SubsetOf(lambda: _enum("loans", "classification"), what="loan classifications"),),
    "liquidity.cash_to_st_debt_below": (_NON_NEGATIVE,),
    "pledges.default_warning_ratio": (_POSITIVE,),
    "pledges.default_liquidation_ratio": (_POSITIVE, Compare("<", "pledges.default_warning_ratio")),
    "pledges.horizon_days": (Whole(1),),
    "pledges.days_per_year": (Whole(1),),
    "pledges.drift": (Real(),),
    "pledges.volatility_window": (Whole(2),),
    # A sample standard deviation needs two returns.
    "pledges.min_returns": (Whole(2), Compare("<=", "pledges.volatility_window")),
    "pledges.trading_days_per_year": (Whole(1),),
    "pledges.max_price_age_days": (Whole(1),),
    "pledges.high_hit_probability": (_SHARE,),
    "pledges.medium_hit_probability": (_SHARE, Compare("<=", "pledges.high_hit_probability")),
    "pledges.max_pledge_ratio": (_SHARE,),
    "pledges.controlling_pledged_share_above": (_SHARE,),
    "mujun.weights": (Weights(6),),
    "mujun.cap": (_POSITIVE,),
    "mujun.min_peers": (Whole(1),),
    "mujun.class_shares": (Weights(4, total=1.0),),
    "mujun.industrial_sections": (SubsetOf(_gb4754_sections, what="GB/T 4754 sections"),),
    "report.traditional_industries": (Satisfies("GB/T 4754 divisions or groups such as C17 or C367, each once",
                                                _industry_codes_problem),),
    "working_capital.days_in_year": (Whole(1),),
    # Growth below −100 % would make the expected revenue negative.
    "working_capital.min_growth": (Real(-1), Compare("<=", "working_capital.max_growth")),
    "working_capital.max_growth": (Real(-1),),
    "working_capital.credit_line_revenue_share": (_SHARE,),
    "working_capital.min_peers": (Whole(1),),
    "network.seed_risks": (SubsetOf(risk_level_columns, what="risk columns"),),
    "network.seed_level": (OneOf(_seed_levels),),
    # Ratios to equity: above 1 is possible and meaningful.
    "network.high_distressed_exposure_ratio": (_NON_NEGATIVE,),
    # DebtRank's h is 0 … 1.
    "network.high_contagion_loss": (_SHARE,),
    "network.medium_out_ratio": (_NON_NEGATIVE,),
    "network.systemic_circle_members": (Flag(),),
    "network.systemic_top_guarantors": (Whole(0),),
    "network.systemic_max_firms": (Whole(0),),
    "network.systemic_max_edge_visits": (Whole(0),),
    "lists.precedence": (OrderOf(_list_keys),),
    "lists.risks": (SubsetOf(risk_level_columns, what="risk columns"),),
    "lists.relief_triggers": (Satisfies("a list of 'risk:level' (a risk column, a level above none)", _trigger_problem),),
    "lists.quality_max_pd": (_SHARE,),
    "lists.quality_top_share": (_SHARE,),
    "lists.quality_score_weights": (Weights(4),),
    "lists.sme_sizes": (SubsetOf(_sme_size_classes, what="size classes"),),
    "lists.relief_priority_weights": (Weights(4),),
    "lists.sme_priority_weights": (Weights(2),),
}


def _get(values: Mapping[str, Any], key: str) -> Any:
    for part in key.split("."):
        values = values[part]
    return values


def _constraint_problems(values: Mapping[str, Any], broken: set[str]) -> Problems:
    """Every broken constraint of ``values``; keys in ``broken`` (of the wrong type) are
    skipped, and so is a constraint naming another key that is broken."""
    problems: Problems = []
    broken = set(broken)

    def get(key: str) -> Any:
        return _get(values, key)

    def is_broken(key: str) -> bool:
        return any(key == b or key.startswith(b + ".") for b in broken)

    def run(cross: bool) -> None:
        for key, constraints in CONSTRAINTS.items():
            for constraint in constraints:
                if bool(constraint.refs) != cross or is_broken(key) or any(is_broken(r) for r in constraint.refs):
                    continue
                text = constraint.check(get(key), get)
                if text:
                    problems.append((key, f"policy key {key!r} {text}"))
                    if not cross:
                        broken.add(key)  # one problem per key; no cross-key rule on it

    run(cross=False)  # each key on its own first, so that every order compares valid values
    run(cross=True)
    return problems


def _in_file_order(problems: Problems, defaults: Mapping[str, Any]) -> Problems:
    """Problems sorted by their key's place in the default file (an unknown key at the end
    of its section), so a long report reads like the file."""
    order = {key: i for i, key in enumerate(_keys(defaults))}
    sections = {key.split(".")[0]: i for key, i in order.items()}

    def rank(problem: tuple[str, str]) -> float:
        key = problem[0]
        if key in order:
            return order[key]
        return sections.get(key.split(".")[0], len(order)) + 0.5

    return sorted(problems, key=rank)


def _keys(values: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted names of the leaf keys, in order."""
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            yield from _keys(value, name)
        else:
            yield name


def _defaults() -> dict[str, Any]:
    """The default values, parsed once (callers get their own copy)."""
    return copy.deepcopy(_parsed_defaults())


@lru_cache(maxsize=None)
def _parsed_defaults() -> dict[str, Any]:
    return tomllib.loads(_default_text())


class _Section:
    """Read-only attribute view of one policy table.

    Examples
    --------
    >>> section = Policy.default().mujun
    >>> section.cap, "class_shares" in dir(section)
    (3.0, True)
    """

    def __init__(self, path: str, values: dict[str, Any]) -> None:
        self._path, self._values = path, values

    def __getattr__(self, key: str) -> Any:
        try:
            value = self.__dict__["_values"][key]
        except KeyError:
            raise AttributeError(f"policy has no key {self._path}.{key}") from None
        if isinstance(value, dict):
            return _Section(f"{self._path}.{key}", value)
        # A copy of a list: the policy was checked when made and must not change after.
        return list(value) if isinstance(value, list) else value

    def __getitem__(self, key: str) -> Any:
        return self.__getattr__(key)

    def __dir__(self) -> list[str]:
        # Tab completion (IPython, Jupyter) offers the keys of the section.
        return sorted({*object.__dir__(self), *self._values})

    def _ipython_key_completions_(self) -> list[str]:
        return list(self._values)

    def __repr__(self) -> str:
        return f"<policy [{self._path}] {self._values!r}>"


class Policy:
    """All rule parameters of a screening, checked whole when the policy is made.

    Each key must have its default's type (a whole number where the default is one; any
    number where it is a float) and follow its constraints in :data:`CONSTRAINTS`: ranges,
    allowed values read from the data contract, list lengths and sums, and orders between
    keys. Every unknown key, wrong type and broken constraint is reported together in one
    :class:`~zjfin.PolicyError` (its ``problems`` list them as ``(key, message)``).

    Parameters
    ----------
    values : mapping, optional
        Nested like the TOML file (``{"mujun": {"cap": 2.0}}``); keys left out keep their
        defaults.

    Raises
    ------
    PolicyError
        Unknown keys, values of the wrong type or breaking a constraint: all of them.

    Examples
    --------
    >>> p = Policy.default()
    >>> p.validation.balance_tolerance
    0.01
    >>> p.update({"validation": {"balance_tolerance": 0.02}}).validation.balance_tolerance
    0.02
    >>> Policy.from_toml("[validation]\\nbalance_tol = 1\\n[mujun]\\nclass_shares = [0.5, 0.5, 0.5, 0.5]")
    Traceback (most recent call last):
    ...
    zjfin.PolicyError: 2 policy problems:
      unknown policy key 'validation.balance_tol'; known keys here: balance_tolerance, firm_id_format, max_abs_money, min_coverage, warning_limit_share
      policy key 'mujun.class_shares' must be 4 numbers ≥ 0 summing to 1 (within 1e-09), got [0.5, 0.5, 0.5, 0.5] (sum 2)
    >>> [s for s in dir(p) if not s.startswith("_")][:4]
    ['bonds', 'default', 'distress', 'from_toml']
    """

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        # Policy(), from_toml and update all come here: one check, whatever the way in.
        defaults = _defaults()
        problems: Problems = []
        self._values: dict[str, Any] = _check("", defaults, dict(values or {}), problems)
        problems += _constraint_problems(self._values, {key for key, _ in problems})
        if problems:
            raise PolicyError(problems=_in_file_order(problems, defaults))

    @classmethod
    def default(cls) -> "Policy":
        """The default policy, from ``data_schemas/policy/default_policy.toml``."""
        return cls()

    @classmethod
    def from_toml(cls, source: str | os.PathLike[str]) -> "Policy":
        """Read a policy from a TOML file path or TOML text; missing keys keep defaults.

        Raises
        ------
        PolicyError
            The file cannot be read or is not TOML; or, naming the file, every problem of
            the policy in it (see :class:`Policy`).
        """
        text, path = str(source), None
        if isinstance(source, os.PathLike) or ("\n" not in text and "=" not in text):
            path = Path(source)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise PolicyError(f"{path}: cannot read policy file ({exc.strerror or exc})") from None
        try:
            values = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"{f'{path}: ' if path else ''}policy file is not valid TOML: {exc}") from None
        try:
            return cls(values)
        except PolicyError as error:
            if path is None:
                raise
            raise PolicyError(problems=error.problems, source=str(path)) from None

    def update(self, changes: Mapping[str, Any]) -> "Policy":
        """A new policy with ``changes`` (nested like the TOML file) applied and checked."""
        merged = copy.deepcopy(self._values)
        for section, values in changes.items():
            if isinstance(values, Mapping) and isinstance(merged.get(section), dict):
                merged[section] = {**merged[section], **values}
            else:
                merged[section] = values
        return Policy(merged)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (what the manifest records)."""
        return copy.deepcopy(self._values)

    def to_toml(self) -> str:
        """The policy as a commented TOML file (the default file with these values)."""
        lines, section = [], ""
        for line in _default_text().splitlines():
            header = _SECTION_LINE.match(line)
            if header:
                section = header.group(1)
            match = _KEY_LINE.match(line)
            if match and not line.lstrip().startswith("#"):
                indent, key, eq, _ = match.groups()
                value = self._values
                for part in [*section.split("."), key] if section else [key]:
                    value = value[part]
                line = f"{indent}{key}{eq}{_toml_value(value)}"
            lines.append(line)
        return "\n".join(lines) + "\n"

    def __getattr__(self, section: str) -> Any:
        values = self.__dict__.get("_values", {})
        if section in values:
            value = values[section]
            return _Section(section, value) if isinstance(value, dict) else value
        raise AttributeError(f"policy has no section {section!r}")

    def __getitem__(self, section: str) -> Any:
        return self.__getattr__(section)

    def __dir__(self) -> list[str]:
        # Tab completion (IPython, Jupyter) offers the sections beside the methods.
        return sorted({*object.__dir__(self), *self.__dict__.get("_values", {})})

    def _ipython_key_completions_(self) -> list[str]:
        return list(self._values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and self._values == other._values

    def __repr__(self) -> str:
        return f"Policy({json.dumps(self._values, ensure_ascii=False)})"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")
