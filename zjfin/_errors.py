"""One error base class and its subclasses; warnings are collected, never printed."""

from __future__ import annotations

__all__ = [
    "ZjfinError",
    "InputFileError",
    "SchemaError",
    "ParameterError",
    "PolicyError",
    "ModelDataError",
    "ModelFormatError",
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
    """A policy file has an unknown key or a value of the wrong type."""


class ModelDataError(ZjfinError, ValueError):
    """Training data a default model cannot learn from: one class only, more than two
    classes, a continuous target."""


class ModelFormatError(ZjfinError):
    """A model file that cannot be loaded: not a zjfin model, a format version this zjfin
    does not read, or contents that do not match their checksum (changed after writing)."""
