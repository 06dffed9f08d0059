"""One error base class and its subclasses; warnings are collected, never printed."""

from __future__ import annotations

from typing import Iterable

__all__ = [
    "ZjfinError",
    "InputFileError",
    "SchemaError",
    "ParameterError",
    "PolicyError",
    "ModelDataError",
    "ModelFormatError",
    "ClusterError",
]


class ZjfinError(Exception):
    """Base class of every error zjfin raises on purpose.

    The command line turns it into exit code 2 with its message and no partial outputs.
    """

    exit_code = 2


class InputFileError(ZjfinError):
    """A file that cannot be used at all: unreadable, wrong format, a missing required
    column, an unknown encoding. The message names the file and what is wrong."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class SchemaError(ZjfinError):
    """The data contract itself is inconsistent, or a table name is unknown."""


class ParameterError(ZjfinError, ValueError):
    """A function or command argument is invalid.

    Every parameter check in zjfin raises this with the same format:
    ``<name> must be <expectation>, got <value!r>``.
    """

    def __init__(self, name: str, expectation: str, value: object) -> None:
        self.name = name
        self.expectation = expectation
        self.value = value
        super().__init__(f"{name} must be {expectation}, got {value!r}")


class PolicyError(ZjfinError):
    """A policy with unknown keys, values of the wrong type or broken constraints.

    A policy is checked whole: every problem found is reported in one error, each on its
    own line of the message and in :attr:`problems`.

    Parameters
    ----------
    message : str
        The message; by default built from ``problems``.
    problems : iterable of (str, str)
        ``(key, message)`` per problem, the key dotted (``"mujun.class_shares"``).

    Examples
    --------
    >>> error = PolicyError(problems=[("a.b", "policy key 'a.b' must be > 0, got 0"),
    ...                               ("a.c", "unknown policy key 'a.c'; known keys here: b")])
    >>> print(error)
    2 policy problems:
      policy key 'a.b' must be > 0, got 0
      unknown policy key 'a.c'; known keys here: b
    >>> [key for key, _ in error.problems]
    ['a.b', 'a.c']
    """

    def __init__(self, message: str = "", problems: Iterable[tuple[str, str]] = (), source: str | None = None) -> None:
        self.problems: list[tuple[str, str]] = list(problems)
        """Every problem as ``(key, message)``; empty for an error raised with a message only."""
        if not message:
            lines = [text for _, text in self.problems]
            message = lines[0] if len(lines) == 1 else f"{len(lines)} policy problems:\n" + "\n".join(f"  {t}" for t in lines)
        if source:
            message = f"{source}: {message}"
        super().__init__(message)

    def __reduce__(self):  # an error crosses a process boundary with its problems
        return (type(self), (str(self), self.problems))


class ModelDataError(ZjfinError, ValueError):
    """Training data a default model cannot learn from: one class only, more than two
    classes, a continuous target."""


class ModelFormatError(ZjfinError):
    """A model file that cannot be loaded: not a zjfin model, a format version this zjfin
    does not read, or contents that do not match their checksum (changed after writing)."""


class ClusterError(ZjfinError):
    """A Dask cluster that could not finish a screening's partitions: a worker lost twice
    while working the same partition (most often out of memory), or the cluster gone. The
    message names the partition, its firms and what to change."""
