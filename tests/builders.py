"""Shared test builders. The code builders here are written independently of zjfin.codes
(plain Python over characters) so the tests check the package, not themselves."""

from __future__ import annotations

import pandas as pd

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def org_check(body8: str) -> str:
    """GB 11714-1997: C9 = 11 - (sum c_i w_i mod 11); 10 -> X, 11 -> 0."""
    weights = [3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(ORG_ALPHABET.index(c) * w for c, w in zip(body8, weights))
    c9 = 11 - total % 11
    return {10: "X", 11: "0"}.get(c9, str(c9))


def uscc(region: str = "330102", org_body: str = "12345678", registration: str = "91") -> str:
    """A valid unified social credit code (GB 32100-2015) from its parts."""
    body = registration + region + org_body + org_check(org_body)
    total = sum(USCC_ALPHABET.index(c) * (3 ** i % 31) for i, c in enumerate(body))
    return body + USCC_ALPHABET[(31 - total % 31) % 31]


def firm_ids(n: int, region: str = "330102") -> list[str]:
    return [uscc(region, f"{10000000 + i:08d}") for i in range(n)]


def minimal_tables(n: int = 3) -> dict[str, pd.DataFrame]:
    """A small clean dataset: n manufacturers with one 2018 statement each."""
    ids = firm_ids(n)
    firms = pd.DataFrame(
        {
            "firm_id": ids,
            "name": [f"测试企业{i}有限公司" for i in range(n)],
            "region_code": ["330102"] * n,
            "industry_code": ["C1711"] * n,
            "employees": [50.0] * n,
        }
    )
    financials = pd.DataFrame(
        {
            "firm_id": ids,
            "period_end": pd.to_datetime(["2018-12-31"] * n),
            "revenue": [5e7] * n,
            "total_assets": [4e7] * n,
            "total_liabilities": [2e7] * n,
            "equity": [2e7] * n,
        }
    )
    return {"firms": firms, "financials": financials}


