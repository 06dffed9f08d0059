"""zjfin: screen enterprises for financing risk and sort them into the three lists.

The public API is flat: everything a notebook needs is importable from ``zjfin``. The
implementation lives in private modules (``zjfin._screen``, ``zjfin._validate`` …), so a
function such as :func:`zjfin.screen` never shadows the module it comes from.

Examples
--------
>>> import zjfin
>>> ds = zjfin.datasets.synthetic_province(300, seed=1)
>>> res = zjfin.screen(ds, as_of="2019-03-31")
>>> res.validation.firms["screened"]
300
"""

from zjfin import datasets
from zjfin._allocator import keep_freed_memory
from zjfin._diff import ListDiff, diff_lists
from zjfin._errors import (
    ClusterError,
    InputFileError,
    ModelDataError,
    ModelFormatError,
    ParameterError,
    PolicyError,
    SchemaError,
    ZjfinError,
)
from zjfin._features import current_financials, firm_frame, size_class
from zjfin._policy import Policy
from zjfin._read import Dataset, read_dataset, read_partitioned_table, read_table, write_dataset
from zjfin._schema import table_schema
from zjfin._result import ScreeningResult
from zjfin._screen import screen
from zjfin._validate import ValidationReport, validate
from zjfin._version import __version__
from zjfin.risks.network import GuaranteeGraph, debtrank, guarantee_graph, guarantee_network


def __getattr__(name: str):
    # zjfin.model pulls in scikit-learn and statsmodels: loaded on first use, not at import.
    if name == "model":
        import importlib

        return importlib.import_module("zjfin.model")
    raise AttributeError(f"module 'zjfin' has no attribute {name!r}")


__all__ = [
    "__version__",
    "ClusterError",
    "Dataset",
    "GuaranteeGraph",
    "InputFileError",
    "ListDiff",
    "ModelDataError",
    "ModelFormatError",
    "ParameterError",
    "Policy",
    "PolicyError",
    "SchemaError",
    "ScreeningResult",
    "ValidationReport",
    "ZjfinError",
    "current_financials",
    "datasets",
    "debtrank",
    "diff_lists",
    "firm_frame",
    "guarantee_graph",
    "guarantee_network",
    "keep_freed_memory",
    "read_dataset",
    "read_partitioned_table",
    "read_table",
    "screen",
    "size_class",
    "table_schema",
    "validate",
    "write_dataset",
]


def __dir__() -> list[str]:
    return sorted({*__all__, "model"})


# Errors say they come from ``zjfin`` (as httpx's do): a traceback reads
# ``zjfin.PolicyError``, not the private module behind it. (Other classes keep their
# module, where their docstring examples run.)
for _name in __all__:
    _public = globals()[_name]
    if isinstance(_public, type) and issubclass(_public, ZjfinError):
        _public.__module__ = "zjfin"
del _name, _public
