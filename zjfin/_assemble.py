"""assemble: the screening table from the stages' columns (its columns declared once, in
``data_schemas/screening.json``), wherever the stages ran — this process, or a partition's
worker."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from zjfin._engines import engine_columns
from zjfin._errors import SchemaError
from zjfin._schema import table_schema

__all__ = ["assemble_screening"]

_FLOATS = frozenset(c.name for c in table_schema("screening").columns if c.type == "float")


def assemble_screening(values: dict[str, Any], index: pd.Index) -> pd.DataFrame:
    """The screening table: every column of the schema, in its order, then the columns of
    engines outside the contract; rows in the order of the firms file. The columns are
    taken as they are, one block each: no concatenated or consolidated copy of a table
    that is a gigabyte per million firms."""
    order = [c.name for c in table_schema("screening").columns]
    order += [name for name in engine_columns() if name not in order]
    missing = [name for name in order if name not in values]
    if missing:  # a stage that did not write its columns: a developer's mistake
        raise SchemaError(f"the screening lacks the columns {missing}")
    columns = {name: values[name] if isinstance(values[name], pd.Series) else pd.Series(values[name], index=index, copy=False)
               for name in order}
    # A declared float column is float64 whatever numbers a stage gave (a partition's sums of no item
    # may be integer zeros): the table's types, and its files' bytes, never depend on the firms it holds.
    for name in _FLOATS.intersection(columns):
        column = columns[name]
        if column.dtype != np.float64 and column.dtype.kind in "iubf":
            columns[name] = pd.Series(column.to_numpy(dtype=np.float64, na_value=np.nan), index=column.index, copy=False)
    return pd.DataFrame(columns, index=index, copy=False).reset_index(drop=True)
