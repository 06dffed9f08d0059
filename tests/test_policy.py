"""The policy checks itself when made: every key's range or allowed values, the orders
between keys, every problem reported at once, and the command line refusing a bad policy
before it reads any data."""

from __future__ import annotations

import math
import pickle
import sys
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zjfin
from zjfin._cli import main
from zjfin._policy import CONSTRAINTS, Policy, _toml_value
from zjfin._schema import list_table, risk_level_columns

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

PolicyError = zjfin.PolicyError


def above(x: float) -> float:
    """The next float after ``x``: just outside an upper bound."""
    return math.nextafter(x, math.inf)


def below(x: float) -> float:
    return math.nextafter(x, -math.inf)


def _default_keys() -> list[str]:
    text = (resources.files("zjfin.data_schemas") / "policy" / "default_policy.toml").read_text(encoding="utf-8")
    return [f"{section}.{key}" for section, values in tomllib.loads(text).items() for key in values]


def change(key: str, value) -> dict:
    section, name = key.split(".")
    return {section: {name: value}}


def problems_of(changes: dict) -> list[tuple[str, str]]:
    with pytest.raises(PolicyError) as caught:
        Policy.default().update(changes)
    return caught.value.problems


SHARE = ([0.0, 1.0, 0, 1], [below(0.0), above(1.0), -1, 2])
NON_NEGATIVE = ([0.0, 0, 1e9], [below(0.0), -1])
POSITIVE = ([above(0.0), 1e-9], [0.0, 0, -1.0])
WHOLE_AT_LEAST_1 = ([1, 1.0, 10_000], [0, -1, 1.5])
WHOLE_AT_LEAST_0 = ([0, 1_000_000], [-1, 0.5])
FLAG = ([True, False], [1, "true", None])

#: Per key: values just inside its constraints (accepted) and just outside (refused).
#: Written from the SPEC and the default file's comments, not from the declarations.
EDGES: dict[str, tuple[list, list]] = {
    "validation.firm_id_format": (["uscc", "any"], ["USCC", "free", ""]),
    "validation.balance_tolerance": SHARE,
    "validation.max_abs_money": POSITIVE,
    "validation.warning_limit_share": SHARE,
    "validation.min_coverage": SHARE,
    "size_class.table": (["size_class_2011"], ["size_class_2099", "relief_actions", "", 2011]),
    "output.mask_person_ids": FLAG,
    "output.parquet_compression": (["zstd", "snappy", "gzip", "brotli", "lz4", "none"], ["lzo", "bz2", "", "zstd "]),
    "distress.z2_weights": ([[0, 0, 0, 1e-9], [6.56, 3.26, 6.72, 1.05], [1, 1, 1, 1]],
                            [[0, 0, 0, 0], [-1e-9, 3.26, 6.72, 1.05], [6.56, 3.26, 6.72], [1, 1, 1, 1, 1],
                             [1, 1, 1, "1"], [True, 1, 1, 1], 4.0]),
    # The zone cut-offs: distress ≤ safe (both kinds of breach are tested below).
    "distress.z2_distress_below": ([-100.0, 2.6, 0], [above(2.6), "1.1"]),
    "distress.z2_safe_above": ([1.1, 100.0], [below(1.1), "2.6"]),
    "zombie.loss_years": ([1, 3, 2.0], [0, 4, 2.5]),
    "zombie.debt_ratio_above": SHARE,
    "zombie.require_liability_growth": FLAG,
    "viability.max_revenue_drop": ([above(0.0), 1.0], [0.0, above(1.0)]),
    "bonds.horizons_months": ([[12, 6, 3], [3, 6, 12]], [[3, 6], [3, 6, 12, 24], [3, 3, 6, 12], [3, 6, 12.5], 12]),
    "bonds.risk_horizon_months": ([1, 120], [0, 1.5]),
    "bonds.high_coverage_below": ([0.0, 1.0], [below(0.0), above(1.0)]),
    "bonds.medium_coverage_below": ([0.5, 100.0], [below(0.5), -1.0]),
    "bonds.min_rating": (["AAA", "C", "AA-"], ["D", "aa-", "", "AA−"]),
    "bonds.rating_scale": ([["AA-"], ["AAA", "AA-", "D"]], [[], ["AA-", "AA-"], ["AA-", ""], ["AA-", 1], "AA-"]),
    "liquidity.high_classifications": ([[], ["loss"], ["normal", "substandard", "doubtful", "loss"]],
                                       [["bad"], ["loss", "loss"], ["special_mention"], ["损失"], "loss"]),
    "liquidity.high_overdue_days_above": ([0, 90], [-1, 0.5]),
    "liquidity.medium_classifications": ([[], ["normal", "special_mention"]], [["substandard"], ["Special_Mention"]]),
    "liquidity.cash_to_st_debt_below": NON_NEGATIVE,
    "pledges.default_warning_ratio": ([above(1.4), 10.0], [1.4, 0.0]),
    "pledges.default_liquidation_ratio": ([above(0.0), below(1.6)], [0.0, 1.6]),
    "pledges.horizon_days": WHOLE_AT_LEAST_1,
    "pledges.days_per_year": WHOLE_AT_LEAST_1,
    "pledges.drift": ([-0.5, 0, 0.5], [math.inf, math.nan, "0.1"]),
    "pledges.volatility_window": ([60, 10_000], [59, 1]),
    "pledges.min_returns": ([2, 250], [1, 251]),
    "pledges.trading_days_per_year": WHOLE_AT_LEAST_1,
    "pledges.max_price_age_days": WHOLE_AT_LEAST_1,
    "pledges.high_hit_probability": ([0.2, 1.0], [below(0.2), above(1.0)]),
    "pledges.medium_hit_probability": ([0.0, 0.5], [below(0.0), above(0.5)]),
    "pledges.max_pledge_ratio": SHARE,
    "pledges.controlling_pledged_share_above": SHARE,
    "mujun.weights": ([[0, 0, 0, 0, 0, 1], [30.0, 20.0, 20.0, 10.0, 10.0, 10.0]],
                      [[0] * 6, [-1, 1, 1, 1, 1, 1], [1] * 5, [1] * 7]),
    "mujun.cap": POSITIVE,
    "mujun.min_peers": WHOLE_AT_LEAST_1,
    "mujun.class_shares": ([[1, 0, 0, 0], [0.25, 0.55, 0.15, 0.05], [0.25, 0.55, 0.15, 0.05 + 0.9e-9]],
                           [[0.5] * 4, [0.25, 0.55, 0.15, 0.05 + 2e-9], [1.1, -0.1, 0, 0], [0.5, 0.5], [0.2] * 5]),
    "mujun.industrial_sections": ([[], ["A", "T"], ["B", "C", "D"]], [["U"], ["B", "B"], ["b"], ["C13"], "BCD"]),
    "report.traditional_industries": ([[], ["C17"], ["C13", "C367"], ["A01", "T971"]],
                                      [["C1"], ["C1711"], ["c17"], ["U17"], ["C17", "C17"], [17]]),
    "working_capital.days_in_year": WHOLE_AT_LEAST_1,
    "working_capital.min_growth": ([-1.0, 0.3], [below(-1.0), above(0.3)]),
    "working_capital.max_growth": ([0.0, 5.0], [below(0.0), below(-1.0)]),
    "working_capital.credit_line_revenue_share": SHARE,
    "working_capital.min_peers": ([1, 5], [0, -1, 1.5]),
    "network.seed_risks": ([[], ["guarantee_risk", "pledge_risk"]], [["bond"], ["bond_risk", "bond_risk"], ["size_class"]]),
    "network.seed_level": (["low", "medium", "high"], ["none", "severe", "High"]),
    "network.high_distressed_exposure_ratio": NON_NEGATIVE,
    "network.high_contagion_loss": SHARE,
    "network.medium_out_ratio": NON_NEGATIVE,
    "network.systemic_circle_members": FLAG,
    "network.systemic_top_guarantors": WHOLE_AT_LEAST_0,
    "network.systemic_max_firms": WHOLE_AT_LEAST_0,
    "network.systemic_max_edge_visits": ([0, 10**9], [-1, 1.5]),
    "lists.precedence": ([["sme_funding", "quality", "relief", "watch"]],
                         [["watch", "relief", "quality"], ["watch", "relief", "quality", "sme_funding", "none"],
                          ["watch", "watch", "quality", "sme_funding"]]),
    "lists.risks": ([[], ["guarantee_risk"], list(reversed(risk_level_columns()))], [["bond"], ["pledge_risk", "pledge_risk"]]),
    "lists.relief_triggers": ([[], ["guarantee_risk:low", "bond_risk:high"]],
                              [["bond_risk"], ["bond_risk:none"], ["bonds:medium"], ["bond_risk:severe"]]),
    "lists.quality_max_pd": SHARE,
    "lists.quality_top_share": SHARE,
    "lists.quality_score_weights": ([[0, 0, 0, 1]], [[0, 0, 0, 0], [1, 1, 1], [1, 1, 1, -1]]),
    "lists.sme_sizes": ([[], ["large", "micro"]], [["unknown"], ["small", "small"], ["tiny"]]),
    "lists.relief_priority_weights": ([[1, 0, 0, 0]], [[0, 0, 0, 0], [1, 1, 1, 1, 1]]),
    "lists.sme_priority_weights": ([[0, 1]], [[0, 0], [1], [1, 1, 1]]),
}

INSIDE = [(key, value) for key, (good, _) in EDGES.items() for value in good]
OUTSIDE = [(key, value) for key, (_, bad) in EDGES.items() for value in bad]


# ----------------------------------------------------------------- every key is declared
def test_every_key_of_the_default_file_has_a_declared_constraint():
    keys = _default_keys()
    assert [k for k in keys if k not in CONSTRAINTS] == []
    assert [k for k in CONSTRAINTS if k not in keys] == []  # nor a constraint for a key that is gone
    assert all(CONSTRAINTS[k] for k in keys)


def test_every_key_is_tested_here():
    assert sorted(EDGES) == sorted(_default_keys())


def test_the_default_policy_passes():
    policy = Policy.default()
    assert Policy(policy.to_dict()) == policy
    assert Policy.from_toml(policy.to_toml()) == policy


# ----------------------------------------------------------------- each constraint, both sides
@pytest.mark.parametrize("key, value", INSIDE, ids=[f"{k}={v!r}" for k, v in INSIDE])
def test_a_value_just_inside_passes(key, value):
    policy = Policy.default().update(change(key, value))
    section, name = key.split(".")
    assert policy[section][name] == value


@pytest.mark.parametrize("key, value", OUTSIDE, ids=[f"{k}={v!r}" for k, v in OUTSIDE])
def test_a_value_just_outside_fails_naming_the_key(key, value):
    problems = problems_of(change(key, value))
    assert len(problems) == 1, problems
    where, message = problems[0]
    assert key in message
    assert "must be" in message and repr(value) in message
    # The problem is filed under this key, or under the key of the pair it is ordered against.
    assert where == key or key in message


@pytest.mark.parametrize("key, value", OUTSIDE, ids=[f"{k}={v!r}" for k, v in OUTSIDE])
def test_a_bad_file_fails_the_same_way(key, value, tmp_path):
    if value is None:
        pytest.skip("TOML has no null")
    section, name = key.split(".")
    path = tmp_path / "policy.toml"
    path.write_text(f"[{section}]\n{name} = {_toml_value(value)}\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=str(path).replace("\\", "\\\\")) as caught:
        Policy.from_toml(path)
    assert key in str(caught.value)


def test_the_issue_seed_level_and_class_shares():
    # The issue: accepted by `zjfin policy --check`, then a bare ValueError while screening.
    problems = problems_of({"mujun": {"class_shares": [0.5, 0.5, 0.5, 0.5]}, "network": {"seed_level": "severe"}})
    assert [k for k, _ in problems] == ["mujun.class_shares", "network.seed_level"]
    assert "summing to 1" in problems[0][1] and "(sum 2)" in problems[0][1]
    assert "one of low, medium, high, got 'severe'" in problems[1][1]


# ----------------------------------------------------------------- cross-key rules, both ways
ORDERS = [  # (low key, high key, strict): low < high when strict, else low ≤ high
    ("distress.z2_distress_below", "distress.z2_safe_above", False),
    ("bonds.high_coverage_below", "bonds.medium_coverage_below", False),
    ("pledges.default_liquidation_ratio", "pledges.default_warning_ratio", True),
    ("pledges.medium_hit_probability", "pledges.high_hit_probability", False),
    ("pledges.min_returns", "pledges.volatility_window", False),
    ("working_capital.min_growth", "working_capital.max_growth", False),
]


def _step(value, up: bool):
    if isinstance(value, int):
        return value + (1 if up else -1)
    return above(value) if up else below(value)


def _default(key: str):
    section, name = key.split(".")
    return Policy.default()[section][name]


def _merged(*changes: dict) -> dict:
    out: dict = {}
    for c in changes:
        for section, values in c.items():
            out.setdefault(section, {}).update(values)
    return out


@pytest.mark.parametrize("low, high, strict", ORDERS)
def test_order_between_keys_both_ways(low, high, strict):
    lo, hi = _default(low), _default(high)
    assert lo < hi
    # Equal: allowed unless strict, whichever key moves.
    for equal in (change(low, hi), change(high, lo)):
        if strict:
            assert [k for k, _ in problems_of(equal)] == [low]
        else:
            Policy.default().update(equal)
    # The low key moved just past the high one, or the high one just below the low one.
    for crossed in (change(low, _step(hi, up=True)), change(high, _step(lo, up=False))):
        (where, message), = problems_of(crossed)
        assert where == low and low in message and high in message
        assert ("<" if strict else "≤") in message
    # Both moved together, in order: fine.
    Policy.default().update(_merged(change(low, _step(hi, up=True)), change(high, _step(_step(hi, up=True), up=True))))


def test_min_rating_is_on_the_scale_both_ways():
    (where, message), = problems_of({"bonds": {"min_rating": "D"}})
    assert where == "bonds.min_rating" and "bonds.rating_scale" in message
    (where, message), = problems_of({"bonds": {"rating_scale": ["AAA", "AA"]}})  # AA- no longer on it
    assert where == "bonds.min_rating" and "'AA-'" in message and "(AAA, AA)" in message
    Policy.default().update({"bonds": {"rating_scale": ["AAA", "AA", "D"], "min_rating": "D"}})


def test_a_cross_key_rule_waits_for_the_key_it_reads():
    # A broken scale is reported once, at its own key, not again at min_rating.
    assert [k for k, _ in problems_of({"bonds": {"rating_scale": []}})] == ["bonds.rating_scale"]
    assert [k for k, _ in problems_of({"pledges": {"volatility_window": "long"}})] == ["pledges.volatility_window"]


def test_classifications_high_and_medium_do_not_overlap_both_ways():
    (where, message), = problems_of({"liquidity": {"high_classifications": ["special_mention", "loss"]}})
    assert where == "liquidity.high_classifications" and "'special_mention' in both" in message
    (where, message), = problems_of({"liquidity": {"medium_classifications": ["special_mention", "doubtful"]}})
    assert where == "liquidity.high_classifications" and "liquidity.medium_classifications" in message
    Policy.default().update({"liquidity": {"high_classifications": ["special_mention", "loss"], "medium_classifications": []}})


# ----------------------------------------------------------------- all problems at once
def test_several_bad_keys_are_reported_together():
    bad = {
        "validation": {"balance_tolerance": 2.0, "balance_tol": 1},
        "zombie": {"loss_years": "three"},
        "mujun": {"class_shares": [0.5, 0.5, 0.5, 0.5]},
        "network": {"seed_level": "severe"},
        "pledges": {"min_returns": 300},
        "nonsense": {"x": 1},
    }
    with pytest.raises(PolicyError) as caught:
        Policy.default().update(bad)
    error = caught.value
    keys = [k for k, _ in error.problems]
    # In the order of the default file; unknown keys at the end of their section.
    assert keys == ["validation.balance_tolerance", "validation.balance_tol", "zombie.loss_years",
                    "pledges.min_returns", "mujun.class_shares", "network.seed_level", "nonsense"]
    lines = str(error).splitlines()
    assert lines[0] == "7 policy problems:"
    assert [line.strip() for line in lines[1:]] == [message for _, message in error.problems]
    assert "unknown policy key 'validation.balance_tol'; known keys here: balance_tolerance" in lines[2]
    assert "policy key 'zombie.loss_years' must be a number, got 'three'" in lines[3]
    assert "unknown policy key 'nonsense'; known keys here: bonds, distress" in lines[7]


def test_a_wrong_type_is_one_problem_not_two():
    assert problems_of({"mujun": {"cap": "big"}}) == [("mujun.cap", "policy key 'mujun.cap' must be a number, got 'big'")]
    assert [k for k, _ in problems_of({"lists": 3})] == ["lists"]


def test_types_are_still_coerced():
    policy = Policy.default().update({"mujun": {"cap": 2, "min_peers": 4.0}})
    assert policy.mujun.cap == 2.0 and isinstance(policy.mujun.cap, float)
    assert policy.mujun.min_peers == 4 and isinstance(policy.mujun.min_peers, int)


def test_init_from_toml_and_update_make_the_same_check(tmp_path):
    bad = {"mujun": {"class_shares": [0.5, 0.5, 0.5, 0.5]}, "lists": {"sme_sizes": ["unknown"]}}
    expected = problems_of(bad)
    with pytest.raises(PolicyError) as caught:
        Policy(bad)
    assert caught.value.problems == expected
    path = tmp_path / "bad.toml"
    path.write_text("[mujun]\nclass_shares = [0.5, 0.5, 0.5, 0.5]\n[lists]\nsme_sizes = ['unknown']\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        Policy.from_toml(path)
    assert caught.value.problems == expected
    assert str(caught.value).startswith(f"{path}: 2 policy problems:\n")


def test_the_error_travels_with_its_problems():
    with pytest.raises(PolicyError) as caught:
        Policy.default().update({"mujun": {"cap": 0.0}, "network": {"seed_level": "x"}})
    back = pickle.loads(pickle.dumps(caught.value))
    assert back.problems == caught.value.problems and str(back) == str(caught.value)
    assert isinstance(back, zjfin.ZjfinError) and back.exit_code == 2


# ----------------------------------------------------------------- properties
@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False) | st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=3, max_size=3),
       st.sampled_from([0.0, 5e-10, -5e-10, 2e-9, -2e-9, 0.1]), st.booleans())
def test_class_shares_pass_iff_they_sum_to_one(three, nudge, complete):
    # Half the draws complete the shares to 1 (then nudge them), half are arbitrary.
    last = (1.0 - math.fsum(three) + nudge) if complete else nudge + 0.3
    shares = [*three, last]
    sums_to_one = all(s >= 0 for s in shares) and abs(math.fsum(shares) - 1.0) <= 1e-9
    try:
        Policy.default().update({"mujun": {"class_shares": shares}})
    except PolicyError as error:
        assert not sums_to_one, error
        assert [k for k, _ in error.problems] == ["mujun.class_shares"]
    else:
        assert sums_to_one


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_share_passes_iff_it_is_from_0_to_1(x):
    try:
        Policy.default().update({"network": {"high_contagion_loss": x}})
    except PolicyError:
        assert not 0 <= x <= 1
    else:
        assert 0 <= x <= 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=6, max_size=6))
def test_non_negative_weights_pass_iff_not_all_zero(weights):
    try:
        Policy.default().update({"mujun": {"weights": weights}})
    except PolicyError:
        assert sum(weights) == 0
    else:
        assert sum(weights) > 0


@settings(max_examples=30, deadline=None)
@given(st.permutations(list(list_table()["key"])))
def test_precedence_is_any_order_of_the_lists(order):
    lists = [k for k in order if k != "none"]
    assert Policy.default().update({"lists": {"precedence": lists}}).lists.precedence == lists
    with pytest.raises(PolicyError, match="lists.precedence"):
        Policy.default().update({"lists": {"precedence": list(order)}})  # "none" is no list


def test_a_checked_policy_cannot_be_changed_through_its_lists():
    policy = Policy.default()
    policy.mujun.class_shares.append(0.5)
    policy.lists.precedence.clear()
    assert policy == Policy.default()


# ----------------------------------------------------------------- tab completion
def test_dir_lists_sections_and_keys():
    policy = Policy.default()
    assert {"mujun", "network", "lists", "update", "to_toml"} <= set(dir(policy))
    assert {"class_shares", "industrial_sections", "cap"} <= set(dir(policy.mujun))
    assert policy._ipython_key_completions_()[:2] == ["validation", "size_class"]
    assert "seed_level" in policy.network._ipython_key_completions_()


# ----------------------------------------------------------------- the command line
BAD_FILE = """[mujun]
class_shares = [0.5, 0.5, 0.5, 0.5]
[network]
seed_level = "severe"
[lists]
precedence = ["watch", "relief"]
top_share = 0.3
"""
BAD_KEYS = ("mujun.class_shares", "network.seed_level", "lists.precedence", "lists.top_share")


def test_policy_check_lists_every_bad_key_and_exits_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(BAD_FILE, encoding="utf-8")
    assert main(["policy", "--check", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    heading, *lines = err.splitlines()
    assert heading == f"zjfin: error: {path}: 4 policy problems:"
    assert len(lines) == 4 and all(sum(key in line for line in lines) == 1 for key in BAD_KEYS)


@pytest.mark.parametrize("command", ["screen", "validate"])
def test_a_bad_policy_stops_the_command_before_any_data_is_read(command, tmp_path, capsys, monkeypatch):
    import zjfin._read

    def no_reading(*args, **kwargs):
        raise AssertionError("data read before the policy was checked")

    monkeypatch.setattr(zjfin._read, "read_dataset", no_reading)
    path = tmp_path / "bad.toml"
    path.write_text(BAD_FILE, encoding="utf-8")
    data = tmp_path / "no-such-folder"  # and had it been read, the error would name it
    args = [command, str(data), "--policy", str(path), "--out", str(tmp_path / "out")]
    assert main(["-q", *args, "--as-of", "2019-03-31"] if command == "screen" else ["-q", *args]) == 2
    err = capsys.readouterr().err
    assert all(key in err for key in BAD_KEYS)
    assert "no-such-folder" not in err
    assert not (tmp_path / "out").exists()
