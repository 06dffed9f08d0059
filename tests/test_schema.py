"""The data contract: every schema file is consistent and carries the Chinese headers users send."""

import json

import pytest

from zjfin._schema import header_key, input_tables, output_tables, table_schema

REQUIRED_CHINESE = {
    "firms": ["统一社会信用代码", "企业名称", "行政区划代码", "行业代码", "从业人员"],
    "financials": ["报告期", "营业收入", "营业成本", "净利润", "资产总额", "负债总额", "所有者权益", "货币资金",
                   "流动资产", "流动负债", "短期借款", "资产总计", "负债合计", "应收账款", "存货", "应付账款",
                   "经营活动产生的现金流量净额", "未分配利润", "应付债券", "长期借款", "一年内到期的非流动负债"],
}


def test_tables_listed():
    assert input_tables() == ["firms", "financials", "bonds", "pledges", "prices", "guarantees", "loans"]
    assert {"screening", "issues"} <= set(output_tables())


@pytest.mark.parametrize("table", input_tables() + output_tables())
def test_schema_is_consistent(table):
    schema = table_schema(table)
    assert schema.table == table
    assert len(set(schema.names)) == len(schema.names)
    schema.header_map()  # raises if two columns claim one header
    for column in schema.columns:
        assert column.label_zh and column.description
        if schema.kind == "input":
            # Validation maps any minimum to `negative_value`: input minimums are 0.
            assert column.constraints.get("min", 0) == 0
    for key in schema.primary_key:
        assert key in schema.names


@pytest.mark.parametrize("table,labels", REQUIRED_CHINESE.items())
def test_chinese_headers_accepted(table, labels):
    mapping = table_schema(table).header_map()
    for label in labels:
        assert header_key(label) in mapping, label


def test_every_column_of_spec_is_in_the_contract():
    spec = {
        "bonds": ["bond_id", "issuer_id", "amount_outstanding", "maturity_date", "put_date", "issue_date", "coupon_rate", "rating", "rating_prev", "status"],
        "pledges": ["pledge_id", "company_id", "pledger_id", "pledged_shares", "loan_amount", "start_date", "end_date", "interest_rate", "warning_ratio", "liquidation_ratio", "pledger_is_controlling", "pledger_holding_shares", "status"],
        "prices": ["stock_code", "date", "close"],
        "guarantees": ["guarantor_id", "borrower_id", "amount", "start_date", "end_date", "kind"],
        "loans": ["firm_id", "amount", "maturity_date", "lender", "classification", "overdue_days"],
    }
    for table, names in spec.items():
        schema = table_schema(table)
        # SPEC's columns, in its order; the others are optional columns of vendor layouts.
        assert [n for n in schema.names if n in names] == names
        assert not [c.name for c in schema.columns if c.name not in names and c.required]


def test_schema_files_are_the_package_data():
    # One source of truth: the installed package reads the repository's data_schemas/.
    from importlib import resources
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1] / "data_schemas"
    for table in input_tables():
        installed = (resources.files("zjfin.data_schemas") / f"{table}.json").read_text(encoding="utf-8")
        assert json.loads(installed) == json.loads((repo / f"{table}.json").read_text(encoding="utf-8"))
