"""The screening policy: every threshold, weight, horizon and table, with defaults.

The defaults and their sources live in ``data_schemas/policy/default_policy.toml``;
:meth:`Policy.default` reads that file and :meth:`Policy.to_toml` writes it back with the
comments kept, so ``zjfin policy --default`` prints the one source of truth.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from zjfin._errors import PolicyError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["Policy"]

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


def _check(path: str, default: Any, value: Any) -> Any:
    """Return ``value`` coerced to the default's type, or raise naming the key."""
    if isinstance(default, dict):
        if not isinstance(value, Mapping):
            raise PolicyError(f"policy key {path!r} must be a table ([{path}]), got {value!r}")
        out = {}
        for key, item in value.items():
            if key not in default:
                known = ", ".join(sorted(default))
                raise PolicyError(f"unknown policy key {path + '.' + key if path else key!r}; known keys here: {known}")
            out[key] = _check(f"{path}.{key}" if path else key, default[key], item)
        return {**copy.deepcopy(default), **out}
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))
        if ok and isinstance(default, float):
            value = float(value)
        elif ok and isinstance(default, int) and not float(value).is_integer():
            raise PolicyError(f"policy key {path!r} must be a whole number, got {value!r}")
        elif ok and isinstance(default, int):
            value = int(value)
    elif isinstance(default, list):
        ok = isinstance(value, list)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise PolicyError(f"policy key {path!r} must be {_type_name(default)}, got {value!r}")
    return value


class _Section:
    """Read-only attribute view of one policy table."""

    def __init__(self, path: str, values: dict[str, Any]) -> None:
        self._path, self._values = path, values

    def __getattr__(self, key: str) -> Any:
        try:
            value = self._values[key]
        except KeyError:
            raise AttributeError(f"policy has no key {self._path}.{key}") from None
        return _Section(f"{self._path}.{key}", value) if isinstance(value, dict) else value

    def __getitem__(self, key: str) -> Any:
        return self.__getattr__(key)

    def __repr__(self) -> str:
        return f"<policy [{self._path}] {self._values!r}>"


class Policy:
    """All rule parameters of a screening.

    Examples
    --------
    >>> p = Policy.default()
    >>> p.validation.balance_tolerance
    0.01
    >>> p.update({"validation": {"balance_tolerance": 0.02}}).validation.balance_tolerance
    0.02
    >>> Policy.from_toml("[validation]\\nbalance_tol = 1")
    Traceback (most recent call last):
    ...
    zjfin.PolicyError: unknown policy key 'validation.balance_tol'; known keys here: balance_tolerance, max_abs_money, warning_limit_share
    """

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        defaults = tomllib.loads(_default_text())
        self._values: dict[str, Any] = _check("", defaults, dict(values or {}))

    @classmethod
    def default(cls) -> "Policy":
        """The default policy, from ``data_schemas/policy/default_policy.toml``."""
        return cls()

    @classmethod
    def from_toml(cls, source: str | os.PathLike[str]) -> "Policy":
        """Read a policy from a TOML file path or TOML text; missing keys keep defaults."""
        text = str(source)
        if isinstance(source, os.PathLike) or ("\n" not in text and "=" not in text):
            path = Path(source)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise PolicyError(f"{path}: cannot read policy file ({exc.strerror or exc})") from None
        try:
            values = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"policy file is not valid TOML: {exc}") from None
        return cls(values)

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
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")
