import numpy as np
import pandas as pd
import pytest

from zjfin._errors import SchemaError
from zjfin._reasons import format_values, reason_catalogue, render_reasons


def test_money_formats():
    assert format_values(np.array([3.2e8, 1.1e8, 9.9e7, -5e4]), "money", "zh").to_pylist() == ["3.2亿元", "1.1亿元", "9900万元", "-5万元"]
    assert format_values(np.array([3.2e9, 1.1e8]), "money", "en").to_pylist() == ["CNY 3.2bn", "CNY 110m"]


def test_sentence_from_spec_example():
    # SPEC §4: "12个月内到期债券3.20亿元，可用货币资金仅1.10亿元" — our B2 sentence carries the same figures.
    fired = pd.DataFrame({"B2": [True]})
    values = pd.DataFrame({"bond_due_12m": [3.2e8], "bond_cover_funds": [1.1e8]})
    out = render_reasons(fired, values).iloc[0]
    assert out["reason_codes"] == "B2"
    assert out["reasons_zh"].startswith("12个月内到期债券3.2亿元，可用货币资金加经营现金流仅1.1亿元")
    assert out["reasons_en"].startswith("CNY 320m of bonds due within 12 months, available cash plus operating cash flow CNY 110m")


def test_order_separators_and_empty():
    fired = pd.DataFrame({"L3": [True, False, True], "B5": [True, False, False]})
    values = pd.DataFrame({"loan_special_mention_amount": [5e6, 0, 1e9], "rating": ["A", None, None]})
    out = render_reasons(fired, values)
    assert out["reason_codes"].tolist() == ["B5;L3", "", "L3"]
    assert out["reasons_zh"].iat[0].count("；") == 1 and out["reasons_en"].iat[0].count("; ") == 1
    assert out["reasons_zh"].iat[2] == "贷款五级分类为关注，金额10亿元"


def test_catalogue_is_consistent():
    cat = reason_catalogue()
    assert cat.index.is_unique
    assert set(cat["level"]) <= {"high", "medium", "low", "info"}
    for row in cat.itertuples():
        # Both languages name the same figures.
        import re
        zh = sorted(re.findall(r"\{(\w+:\w+)\}", row.template_zh))
        en = sorted(re.findall(r"\{(\w+:\w+)\}", row.template_en))
        assert zh == en, row.code
        # The sentence separators never occur inside a sentence.
        assert "；" not in row.template_zh and ";" not in row.template_en, row.code


def test_unknown_code_or_column_is_an_error():
    with pytest.raises(SchemaError, match="not in the catalogue"):
        render_reasons(pd.DataFrame({"X9": [True]}), pd.DataFrame(index=[0]))
    with pytest.raises(SchemaError, match="bond_due_12m"):
        render_reasons(pd.DataFrame({"B6": [True]}), pd.DataFrame(index=[0]))


def test_a_clause_whose_figure_is_missing_is_left_out():
    fired = pd.DataFrame({"B1": [True, True]})
    values = pd.DataFrame({"bond_defaulted_amount": [3.2e8, np.nan]})
    out = render_reasons(fired, values)
    assert out["reasons_zh"].tolist() == ["债券已违约或展期，未偿余额3.2亿元", "债券已违约或展期"]
    assert out["reasons_en"].tolist() == ["bonds in default or extended: CNY 320m outstanding",
                                          "bonds in default or extended"]


def test_a_first_clause_left_out_leaves_no_separator():
    fired = pd.DataFrame({"W1": [True, True, True]})
    values = pd.DataFrame({"working_capital_need": [2e6, np.nan, np.nan], "suggested_credit_line": [1e6, np.nan, np.nan],
                           "financing_demand": [np.nan, 5e5, np.nan]})
    out = render_reasons(fired, values)
    assert out["reasons_zh"].tolist() == ["测算流动资金贷款需求200万元，建议授信100万元", "申报融资需求50万元", ""]
    assert out["reasons_en"].tolist()[:2] == ["estimated working-capital loan need CNY 2m, suggested credit line CNY 1m",
                                              "declared financing demand CNY 0.5m"]


def test_a_missing_figure_outside_an_optional_clause_reads_a_dash_without_its_unit():
    fired = pd.DataFrame({"G6": [True]})
    values = pd.DataFrame({"guarantee_out": [np.nan], "guarantee_out_ratio": [0.7]})
    assert render_reasons(fired, values)["reasons_zh"].tolist() == ["对外担保—，占净资产70%"]
    assert format_values(np.array([np.nan, 5e4]), "money", "zh").to_pylist() == [None, "5万元"]


def test_a_fixed_sentence_for_many_firms_stays_one_array():
    # At a million firms, 157,301 firms shared the sentence of K3: pa.array of a NumPy text
    # array came back chunked there, and the join refused it.
    import pyarrow as pa

    from zjfin._reasons import join_labels, repeated

    sentence = "存在中等风险，但未达纾困触发条件（担保结构风险仅作报告和排序），未列入名单"
    assert isinstance(repeated(sentence, 200_000), pa.Array)
    n = 200_000
    joined = join_labels([np.ones(n, bool), np.arange(n) % 2 == 0], [sentence, "另"], "；", n)
    assert joined[0].as_py() == sentence + "；另" and joined[1].as_py() == sentence


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_rendering_in_blocks_of_firms_changes_nothing(monkeypatch, n_jobs):
    # The sentences are rendered a block of firms at a time: blocks of 3 firms (a code
    # firing in some blocks and not others, an empty block) give the same texts as one
    # block, and each firm's texts are the ones a single-firm rendering gives.
    import zjfin._reasons as reasons

    rng = np.random.default_rng(3)
    n = 23
    fired = pd.DataFrame({"L3": rng.random(n) < 0.5, "B5": rng.random(n) < 0.3, "V2": np.arange(n) == 7})
    fired.iloc[9:12] = False  # a block with no reason at all
    values = pd.DataFrame({"loan_special_mention_amount": rng.random(n) * 1e9,
                           "rating": rng.choice(["A", "A+", None], n)})
    whole = render_reasons(fired, values, n_jobs=n_jobs)
    monkeypatch.setattr(reasons, "_BLOCK_FIRMS", 3)
    blocked = render_reasons(fired, values, n_jobs=n_jobs)
    pd.testing.assert_frame_equal(blocked, whole)
    for i in (0, 7, 10, 22):
        alone = render_reasons(fired.iloc[[i]].reset_index(drop=True), values.iloc[[i]].reset_index(drop=True))
        assert blocked.iloc[i].tolist() == alone.iloc[0].tolist()
    assert blocked["reason_codes"].iat[10] == "" and blocked["reason_codes"].iat[7].startswith("V2")
