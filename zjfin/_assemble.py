"""assemble: the screening table from the stages' columns (its columns declared once, in
``data_schemas/screening.json``), wherever the stages ran — this process, or a partition's
worker."""

from __future__ import annotations

from typing import Any

import pandas as pd

from zjfin._engines import engine_columns
from zjfin._errors import SchemaError
from zjfin._schema import table_schema

__all__ = ["assemble_screening"]


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
    return pd.DataFrame(columns, index=index, copy=False).reset_index(drop=True)
