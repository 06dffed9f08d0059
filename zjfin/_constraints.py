"""Small declarative constraints on policy values (ranges, allowed values, list shapes,
orders between keys).

The policy declares one list of constraints per key (``zjfin._policy.CONSTRAINTS``); each
constraint here only answers "does this value follow me, and if not, what is expected and
what was given". A constraint that reads other keys names them in :attr:`Constraint.refs`,
so the policy can skip it while one of those keys is itself broken (one problem is reported
once, at its own key).

Allowed values are given as a tuple, as a function returning them (read from the data
contract when first needed, so the contract stays the one source), or as :class:`Key`, the
value of another policy key.

Examples
--------
>>> Real(0, 1).check(1.5, None)
'must be a number from 0 to 1, got 1.5'
>>> Real(0, 1).check(1.0, None) is None
True
>>> OneOf(("low", "medium", "high")).check("severe", None)
"must be one of low, medium, high, got 'severe'"
>>> Weights(4, total=1.0).check([0.5, 0.5, 0.5, 0.5], None)
'must be 4 numbers ≥ 0 summing to 1 (within 1e-09), got [0.5, 0.5, 0.5, 0.5] (sum 2)'
"""

from __future__ import annotations

import math
import operator
from abc import ABC, abstractmethod
from collections import Counter
from typing import Any, Callable, Iterable, Sequence

__all__ = [
    "Constraint",
    "Key",
    "Real",
    "Whole",
    "Flag",
    "OneOf",
    "SubsetOf",
    "OrderOf",
    "Weights",
    "Labels",
    "Compare",
    "DisjointFrom",
    "Satisfies",
]

#: Reads another key's value by its dotted name (``"bonds.rating_scale"``).
Getter = Callable[[str], Any]


class Key(str):
    """The value of another policy key, used where allowed values are expected.

    Examples
    --------
    >>> OneOf(Key("bonds.rating_scale")).refs
    ('bonds.rating_scale',)
    """


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _show(x: Any) -> str:
    """A bound as a person writes it: 1 not 1.0, 1e-09 not 0.000000001."""
    return f"{x:g}" if isinstance(x, float) else str(x)


def _listing(values: Iterable[Any]) -> str:
    return ", ".join(_show(v) for v in values)


class Constraint(ABC):
    """One rule a policy value must follow.

    Subclasses implement :meth:`check`; one that reads other keys lists them in ``refs``.
    """

    refs: tuple[str, ...] = ()

    @abstractmethod
    def check(self, value: Any, get: Getter | None) -> str | None:
        """``None`` when ``value`` follows the rule, else ``"must be …, got …"``.

        Parameters
        ----------
        value
            The key's value (already of the default's type).
        get : callable
            Reads another key's value by its dotted name (needed only with ``refs``).
        """

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


class Real(Constraint):
    """A number within bounds (``None``: no bound); bounds are included unless open.

    Examples
    --------
    >>> Real(0, open_low=True).check(0.0, None)
    'must be a number > 0, got 0.0'
    >>> Real(0, 1, open_low=True).check(0.0, None)
    'must be a number in (0, 1], got 0.0'
    >>> Real().check(-7.5, None) is None
    True
    """

    kind = "a number"

    def __init__(self, low: float | None = None, high: float | None = None, *,
                 open_low: bool = False, open_high: bool = False) -> None:
        self.low, self.high, self.open_low, self.open_high = low, high, open_low, open_high

    def expectation(self) -> str:
        low, high = self.low, self.high
        if low is None and high is None:
            return self.kind
        if high is None:
            return f"{self.kind} {'>' if self.open_low else '≥'} {_show(low)}"
        if low is None:
            return f"{self.kind} {'<' if self.open_high else '≤'} {_show(high)}"
        if not (self.open_low or self.open_high):
            return f"{self.kind} from {_show(low)} to {_show(high)}"
        return f"{self.kind} in {'(' if self.open_low else '['}{_show(low)}, {_show(high)}{')' if self.open_high else ']'}"

    def holds(self, value: Any) -> bool:
        if not _number(value):
            return False
        if self.low is not None and (value <= self.low if self.open_low else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.open_high else value > self.high):
            return False
        return True

    def check(self, value: Any, get: Getter | None) -> str | None:
        return None if self.holds(value) else f"must be {self.expectation()}, got {value!r}"


class Whole(Real):
    """A whole number within closed bounds.

    Examples
    --------
    >>> Whole(1, 3).check(4, None)
    'must be a whole number from 1 to 3, got 4'
    >>> Whole(0).check(2.5, None)
    'must be a whole number ≥ 0, got 2.5'
    """

    kind = "a whole number"

    def __init__(self, low: int | None = None, high: int | None = None) -> None:
        super().__init__(low, high)

    def holds(self, value: Any) -> bool:
        return super().holds(value) and float(value).is_integer()


class Flag(Constraint):
    """true or false (a switch: nothing more to check than its type).

    Examples
    --------
    >>> Flag().check(1, None)
    'must be true or false, got 1'
    """

    def check(self, value: Any, get: Getter | None) -> str | None:
        return None if isinstance(value, bool) else f"must be true or false, got {value!r}"


Options = Sequence[Any] | Callable[[], Sequence[Any]] | Key


class _WithOptions(Constraint):
    """Base of the constraints over a set of allowed values."""

    def __init__(self, options: Options, what: str | None = None) -> None:
        self.options, self.what = options, what
        self.refs = (str(options),) if isinstance(options, Key) else ()

    def allowed(self, get: Getter | None) -> tuple[Any, ...]:
        if isinstance(self.options, Key):
            return tuple(get(self.options))
        return tuple(self.options() if callable(self.options) else self.options)

    def named(self, allowed: Sequence[Any]) -> str:
        """The allowed values as the message shows them (and where they come from)."""
        if isinstance(self.options, Key):
            return f"{self.options} ({_listing(allowed)})"
        return f"{self.what} ({_listing(allowed)})" if self.what else _listing(allowed)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


class OneOf(_WithOptions):
    """One of the allowed values.

    Examples
    --------
    >>> OneOf(Key("bonds.rating_scale")).check("Z", {"bonds.rating_scale": ["AAA", "AA"]}.get)
    "must be one of bonds.rating_scale (AAA, AA), got 'Z'"
    """

    def check(self, value: Any, get: Getter | None) -> str | None:
        allowed = self.allowed(get)
        if _hashable(value) and value in allowed:
            return None
        return f"must be one of {self.named(allowed)}, got {value!r}"


class SubsetOf(_WithOptions):
    """A list of distinct allowed values (any number of them, none too).

    Examples
    --------
    >>> SubsetOf(("a", "b", "c")).check(["a", "d"], None)
    "must be a list of distinct values from a, b, c, got ['a', 'd'] ('d' is not one of them)"
    >>> SubsetOf(("a", "b")).check(["a", "a"], None)
    "must be a list of distinct values from a, b, got ['a', 'a'] ('a' twice)"
    """

    def check(self, value: Any, get: Getter | None) -> str | None:
        allowed = self.allowed(get)
        detail = _list_detail(value, allowed)
        if detail is None:
            return None
        return f"must be a list of distinct values from {self.named(allowed)}, got {value!r}{detail}"


class OrderOf(_WithOptions):
    """Every allowed value exactly once, in any order (a permutation).

    Examples
    --------
    >>> OrderOf(("a", "b", "c")).check(["a", "b"], None)
    "must be a, b, c in any order, each once, got ['a', 'b'] (lacks 'c')"
    """

    def check(self, value: Any, get: Getter | None) -> str | None:
        allowed = self.allowed(get)
        detail = _list_detail(value, allowed)
        if detail is None and len(value) == len(allowed):
            return None
        if detail is None:
            detail = " (lacks " + ", ".join(repr(a) for a in allowed if a not in value) + ")"
        return f"must be {self.named(allowed)} in any order, each once, got {value!r}{detail}"


def _list_detail(value: Any, allowed: Sequence[Any]) -> str | None:
    """Why ``value`` is not a list of distinct allowed values (``None``: it is)."""
    if not isinstance(value, list):
        return ""
    for item in value:
        if not _hashable(item) or item not in allowed or isinstance(item, bool):
            return f" ({item!r} is not one of them)"
    twice = [item for item, count in Counter(value).items() if count > 1]
    if twice:
        return f" ({twice[0]!r} twice)"
    return None


class Weights(Constraint):
    """``length`` numbers ≥ 0: summing to ``total`` (within ``tolerance``), or — without
    a total — not all zero (they are renormalised).

    Examples
    --------
    >>> Weights(2).check([0, 0], None)
    'must be 2 numbers ≥ 0, not all 0, got [0, 0]'
    >>> Weights(2).check([1, -1], None)
    'must be 2 numbers ≥ 0, not all 0, got [1, -1]'
    >>> Weights(2).check([1, 2, 3], None)
    'must be 2 numbers ≥ 0, not all 0, got [1, 2, 3] (3 numbers)'
    """

    def __init__(self, length: int, total: float | None = None, tolerance: float = 1e-9) -> None:
        self.length, self.total, self.tolerance = length, total, tolerance

    def expectation(self) -> str:
        if self.total is None:
            return f"{self.length} numbers ≥ 0, not all 0"
        return f"{self.length} numbers ≥ 0 summing to {_show(self.total)} (within {_show(self.tolerance)})"

    def check(self, value: Any, get: Getter | None) -> str | None:
        detail = ""
        if not isinstance(value, list) or not all(_number(v) for v in value):
            pass
        elif len(value) != self.length:
            detail = f" ({len(value)} numbers)"
        elif any(v < 0 for v in value):
            pass
        else:
            total = math.fsum(value)  # exact: the verdict does not depend on the order
            if self.total is None and total > 0:
                return None
            if self.total is not None and abs(total - self.total) <= self.tolerance:
                return None
            detail = f" (sum {_show(total)})" if self.total is not None else ""
        return f"must be {self.expectation()}, got {value!r}{detail}"


class Labels(Constraint):
    """A non-empty list of distinct non-empty strings (an ordered scale of names).

    Examples
    --------
    >>> Labels().check(["AAA", "AAA"], None)
    "must be a non-empty list of distinct non-empty strings, got ['AAA', 'AAA'] ('AAA' twice)"
    """

    def check(self, value: Any, get: Getter | None) -> str | None:
        expected = "must be a non-empty list of distinct non-empty strings, got "
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            return f"{expected}{value!r}"
        twice = [item for item, count in Counter(value).items() if count > 1]
        return f"{expected}{value!r} ({twice[0]!r} twice)" if twice else None


_OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_SIGNS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}


class Compare(Constraint):
    """An order against another key's value: ``Compare("<=", "distress.z2_safe_above")``.

    Examples
    --------
    >>> Compare("<=", "a.high").check(3.0, {"a.high": 2.6}.get)
    'must be ≤ a.high (2.6), got 3.0'
    """

    def __init__(self, op: str, other: str) -> None:
        if op not in _OPERATORS:
            raise ValueError(f"op must be one of {', '.join(_OPERATORS)}, got {op!r}")
        self.op, self.other = op, other
        self.refs = (other,)

    def check(self, value: Any, get: Getter | None) -> str | None:
        bound = get(self.other)
        if _OPERATORS[self.op](value, bound):
            return None
        return f"must be {_SIGNS[self.op]} {self.other} ({bound!r}), got {value!r}"


class DisjointFrom(Constraint):
    """A list sharing no value with another key's list.

    Examples
    --------
    >>> DisjointFrom("l.medium").check(["loss", "doubtful"], {"l.medium": ["doubtful"]}.get)
    "must be a list sharing no value with l.medium (['doubtful']), got ['loss', 'doubtful'] ('doubtful' in both)"
    """

    def __init__(self, other: str) -> None:
        self.other = other
        self.refs = (other,)

    def check(self, value: Any, get: Getter | None) -> str | None:
        others = get(self.other)
        both = [v for v in value if v in others]
        if not both:
            return None
        return f"must be a list sharing no value with {self.other} ({others!r}), got {value!r} ({both[0]!r} in both)"


class Satisfies(Constraint):
    """A named test of the value, for what the other kinds do not say: ``test(value)``
    returns ``None`` when the value passes, else the reason shown after it.

    Examples
    --------
    >>> even = Satisfies("an even number", lambda v: None if v % 2 == 0 else "odd")
    >>> even.check(3, None)
    'must be an even number, got 3 (odd)'
    """

    def __init__(self, expectation: str, test: Callable[[Any], str | None]) -> None:
        self.expectation, self.test = expectation, test

    def check(self, value: Any, get: Getter | None) -> str | None:
        reason = self.test(value)
        return None if reason is None else f"must be {self.expectation}, got {value!r} ({reason})"
