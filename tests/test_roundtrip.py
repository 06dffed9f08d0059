"""The synthetic province round-trips through the readers in every format, both header
languages, several encodings and money units, with identical results."""

import numpy as np
import pandas as pd
import pytest

import zjfin
from zjfin._schema import table_schema

AS_OF = "2019-03-31"


@pytest.fixture(scope="module")
def province():
    ds = zjfin.datasets.synthetic_province(300, seed=11)
    return ds, zjfin.screen(ds, as_of=AS_OF)


VARIANTS = [
    ("parquet", "en", "yuan", "utf-8-sig"),
    ("parquet", "zh", "10k_yuan", "utf-8-sig"),
    ("csv", "en", "yuan", "utf-8"),
    ("csv", "zh", "yuan", "utf-8-sig"),
    ("csv", "zh", "10k_yuan", "gb18030"),
    ("csv", "en", "100m_yuan", "gb18030"),
    ("xlsx", "en", "yuan", "utf-8-sig"),
    ("xlsx", "zh", "10k_yuan", "utf-8-sig"),
]


@pytest.mark.parametrize("fmt,headers,unit,encoding", VARIANTS, ids=["-".join(v) for v in VARIANTS])
def test_round_trip(province, tmp_path, fmt, headers, unit, encoding):
    ds, expected = province
    zjfin.write_dataset(ds, tmp_path, format=fmt, headers=headers, unit=unit, encoding=encoding)
    back = zjfin.read_dataset(tmp_path, unit=unit)
    assert back.tables_present() == ds.tables_present()
    exact = unit == "yuan"
    for table in ds.tables_present():
        names = table_schema(table).names
        left, right = ds[table][names].reset_index(drop=True), back[table][names].reset_index(drop=True)
        for name in names:
            a, b = left[name], right[name]
            if pd.api.types.is_float_dtype(a.dtype):
                # Scaling by 10^4 or 10^8 and back may move the last bit, nothing more.
                np.testing.assert_allclose(b.to_numpy(float), a.to_numpy(float), rtol=0 if exact else 1e-12, equal_nan=True,
                                           err_msg=f"{table}.{name}")
            else:
                assert a.astype(object).where(a.notna(), None).tolist() == b.astype(object).where(b.notna(), None).tolist(), f"{table}.{name}"
    result = zjfin.screen(back, as_of=AS_OF)
    # The synthetic province has expired guarantees (notes); nothing else.
    assert set(result.validation.issues["code"]) <= {"guarantee_inactive"}
    pd.testing.assert_frame_equal(
        result.screening, expected.screening, check_dtype=False, check_exact=exact, rtol=1e-12
    )


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), unit=st.sampled_from(["10k_yuan", "100m_yuan"]))
def test_same_data_in_another_unit_gives_the_same_lists(tmp_path_factory, seed, unit):
    """A dataset written in 万元 or 亿元 and read with that unit is the same data: scaled
    values are kept at a stated precision (fen), so no rank or threshold moves a firm (21 of
    300 firms changed list before)."""
    ds = zjfin.datasets.synthetic_province(300, seed=seed)
    yuan, other = tmp_path_factory.mktemp("yuan"), tmp_path_factory.mktemp(unit)
    zjfin.write_dataset(ds, yuan, format="csv", unit="yuan")
    zjfin.write_dataset(ds, other, format="csv", unit=unit)
    a = zjfin.screen(zjfin.read_dataset(yuan), as_of="2019-03-31", n_jobs=1)
    b = zjfin.screen(zjfin.read_dataset(other, unit=unit), as_of="2019-03-31", n_jobs=1)
    for table in ("financials", "bonds", "loans", "pledges", "guarantees"):
        pd.testing.assert_frame_equal(a.validation.dataset[table], b.validation.dataset[table], check_exact=True)
    pd.testing.assert_frame_equal(a.screening, b.screening, check_exact=True)
