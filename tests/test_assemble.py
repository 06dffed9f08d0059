"""assemble: the screening table's columns in the schema's order and types."""

import numpy as np
import pandas as pd

import zjfin
from zjfin._assemble import assemble_screening
from zjfin._schema import table_schema


def test_a_declared_float_column_is_float_whatever_a_stage_gave():
    """A stage's integer zeros (a partition's sums of no item) in a float column: float64,
    so the county files' types never depend on which firms a partition holds."""
    screening = zjfin.screen(zjfin.datasets.synthetic_province(300, seed=2), as_of="2019-03-31").screening
    values = {name: screening[name] for name in screening.columns}
    values["bond_due_3m"] = pd.Series(np.zeros(len(screening), dtype=np.int64))
    values["bond_count"] = pd.Series(np.zeros(len(screening), dtype=bool))
    values["bond_due_6m"] = pd.Series(pd.array([1, None] * (len(screening) // 2), dtype="Int64"))
    values["bond_due_12m"] = pd.Series(np.ones(len(screening), dtype=np.float32))
    made = assemble_screening(values, screening.index)
    floats = [c.name for c in table_schema("screening").columns if c.type == "float"]
    assert (made[floats].dtypes == np.float64).all() and made["bond_due_3m"].eq(0.0).all()
    assert made["bond_due_6m"].isna().sum() == len(screening) // 2 and made["bond_due_12m"].eq(1.0).all()
    assert list(made.columns) == list(screening.columns)
