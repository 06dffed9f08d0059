"""zjfin: screen enterprises for financing risk and sort them into the three lists.

The public API is flat: everything a notebook needs is importable from ``zjfin``.

Examples
--------
>>> import zjfin
>>> ds = zjfin.datasets.synthetic_province(300, seed=1)
>>> res = zjfin.screen(ds, as_of="2019-03-31")
>>> res.validation.firms["screened"]
300
"""

__version__ = "0.1.0"

from zjfin import datasets
from zjfin.allocator import keep_freed_memory
from zjfin.diff import ListDiff, diff_lists
from zjfin.errors import InputFileError, ParameterError, PolicyError, SchemaError, ZjfinError
from zjfin.features import current_financials, size_class
from zjfin.policy import Policy
from zjfin.read import Dataset, read_dataset, read_table, write_dataset
from zjfin.risks.network import GuaranteeGraph, debtrank, guarantee_graph, guarantee_network
from zjfin.schema import table_schema
from zjfin.screen import ScreeningResult, screen
from zjfin.validate import ValidationReport, validate



def __getattr__(name: str):
    # zjfin.model pulls in scikit-learn and statsmodels: loaded on first use, not at import.
    if name == "model":
        import importlib

        return importlib.import_module("zjfin.model")
    raise AttributeError(f"module 'zjfin' has no attribute {name!r}")


__all__ = [
    "__version__",
    "Dataset",
    "GuaranteeGraph",
    "InputFileError",
    "ListDiff",
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
    "guarantee_graph",
    "guarantee_network",
    "keep_freed_memory",
    "read_dataset",
    "read_table",
    "screen",
    "size_class",
    "table_schema",
    "validate",
    "write_dataset",
]
