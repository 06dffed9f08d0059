"""Screen a dataset: validate, compute every per-firm stage, assemble the result.

The orchestration of the data flow read → validate → features → risks → lists → export.
"""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from zjfin import __version__
from zjfin._errors import ParameterError, SchemaError
from zjfin._arrow import as_text
from zjfin._features import SIZE_CLASSES, firm_frame, size_class
from zjfin._lists import LISTS, assign_lists
from zjfin._reasons import reason_catalogue, render_reasons
from zjfin.risks import RISK_LEVELS, EngineOutput, threads
from zjfin.risks.bonds import bond_maturities, bond_risk, short_term_funding
from zjfin.risks.distress import distress
from zjfin.risks.liquidity import liquidity_risk
from zjfin.risks.mujun import mujun
from zjfin.risks.network import NETWORK_COLUMNS, distressed_firms, guarantee_graph, guarantee_network
from zjfin.risks.pledges import pledge_contracts, pledge_risk
from zjfin.risks.working_capital import working_capital
from zjfin._policy import Policy
from zjfin._progress import Progress
from zjfin._read import Dataset
from zjfin._schema import input_tables, table_schema, validation_codes
from zjfin._validate import ValidationReport, validate

__all__ = ["ScreeningResult", "screen", "RISK_TABLES"]

#: Which optional input table each risk needs; a missing table switches the risk off.
RISK_TABLES: dict[str, tuple[str, ...]] = {
    "bond_risk": ("bonds",),
    "liquidity_risk": ("loans",),
    "pledge_risk": ("pledges", "prices"),
    "guarantee_risk": ("guarantees",),
}
STAGES = ["validate", "features", "distress", "bonds", "liquidity", "pledges", "mujun", "working_capital", "guarantee_network",
          "model", "lists", "reasons", "assemble"]
# Screening columns (data_schemas/screening.json "since") produced so far.
_STAGES_BUILT = ("foundation", "engines", "network", "lists")


def _as_of(value: Any) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ParameterError("as_of", "a date such as 2019-03-31", value) from None
    if pd.isna(ts):
        raise ParameterError("as_of", "a date such as 2019-03-31", value)
    return ts.normalize()


class ScreeningResult:
    """The outcome of :func:`screen`: one row per screened firm and everything behind it.

    Attributes
    ----------
    screening : DataFrame
        One row per screened firm (``screening.parquet``).
    validation : ValidationReport
        Findings and rejected rows.
    as_of : Timestamp
    policy : Policy
    timings : dict
        Seconds per stage.
    """

    def __init__(self, screening: pd.DataFrame, validation: ValidationReport, as_of: pd.Timestamp,
                 policy: Policy, timings: dict[str, float], switched_off: list[dict[str, Any]],
                 tables: dict[str, Any] | None = None, model: Any = None) -> None:
        self.screening = screening
        #: The default model that filled ``pd_12m`` (None: the column is empty).
        self.model = model
        self.validation = validation
        self.as_of = as_of
        self.policy = policy
        self.timings = timings
        self.switched_off = switched_off
        #: Per-item tables behind the firm rows: ``pledges`` (one row per contract),
        #: ``circles`` (one row per guarantee circle) and ``graph`` (the GuaranteeGraph).
        self.tables = dict(tables or {})

    @property
    def issues(self) -> pd.DataFrame:
        return self.validation.to_frame()

    @property
    def rejected(self) -> pd.DataFrame:
        return self.validation.rejected

    def to_frame(self) -> pd.DataFrame:
        """The screening table."""
        return self.screening

    def explain(self, firm_id: str) -> pd.Series:
        """Every figure of one firm, with Chinese labels as the index's second level.

        Raises
        ------
        KeyError
            The firm was not screened (its validation findings say why).
        """
        rows = self.screening[self.screening["firm_id"] == firm_id]
        if rows.empty:
            found = self.validation.issues[self.validation.issues["key"] == firm_id]
            why = "; ".join(sorted(set(found["code"]))) or "not in the dataset"
            raise KeyError(f"firm {firm_id!r} was not screened ({why})")
        row = rows.iloc[0]
        labels = {c.name: c.label_zh for c in table_schema("screening").columns}
        index = pd.MultiIndex.from_arrays([row.index, [labels.get(c, c) for c in row.index]], names=["column", "label_zh"])
        return pd.Series(row.to_numpy(), index=index, name=firm_id)

    @property
    def lists(self) -> dict[str, pd.DataFrame]:
        """The four lists (watch, relief, quality, sme_funding): each list's firms ordered by
        county and priority, with the columns of the list files (``data_schemas/lists.json``)."""
        try:
            columns = [c for c in table_schema("lists").names if c in self.screening.columns]
        except SchemaError:  # pragma: no cover - the lists schema ships with the package
            columns = list(self.screening.columns)
        out = {}
        for name in LISTS[:-1]:
            rows = self.screening[self.screening["list"] == name]
            out[name] = rows.sort_values(["region_code", "priority"], kind="stable")[columns].reset_index(drop=True)
        return out

    def reasons(self, firm_id: str) -> pd.DataFrame:
        """One row per reason of one firm: code, risk, level, Chinese and English sentence."""
        row = self.explain(firm_id)
        codes = [c for c in str(row.xs("reason_codes", level="column").iat[0]).split(";") if c]
        zh = [t for t in str(row.xs("reasons_zh", level="column").iat[0]).split("；") if t]
        en = [t for t in str(row.xs("reasons_en", level="column").iat[0]).split("; ") if t]
        catalogue = reason_catalogue()
        return pd.DataFrame({"code": codes, "risk": catalogue.loc[codes, "risk"].tolist(),
                             "level": catalogue.loc[codes, "level"].tolist(), "reason_zh": zh, "reason_en": en})

    def summary(self, by: str = "region", of: str = "list") -> pd.DataFrame:
        """Firm counts and amounts by ``region`` (county), ``city``, ``industry`` (GB/T 4754
        section) or ``size_class``.

        ``of="list"`` (default): one column of firms per list, then ``firms``, ``revenue``,
        the debt of relief firms (``relief_liabilities``) and the suggested credit lines of
        sme_funding firms (``sme_credit_lines``). ``of="size_class"``: firms per size class,
        ``firms`` and ``revenue``.
        """
        keys = {
            "region": self.screening["region_code"],
            "city": self.screening["region_code"].str[:4],
            "industry": self.screening["industry_section"],
            "size_class": self.screening["size_class"],
        }
        if by not in keys:
            raise ParameterError("by", f"one of {', '.join(keys)}", by)
        groups = {"list": list(LISTS), "size_class": list(SIZE_CLASSES)}
        if of not in groups or of not in self.screening.columns:
            raise ParameterError("of", "list or size_class", of)
        frame = self.screening.assign(_key=keys[by].to_numpy())
        counts = pd.crosstab(frame["_key"], frame[of]).reindex(columns=groups[of], fill_value=0)
        counts.columns.name = None
        counts["firms"] = counts.sum(axis=1)
        grouped = frame.groupby("_key")
        counts["revenue"] = grouped["revenue"].sum()
        if of == "list":
            counts["relief_liabilities"] = frame["total_liabilities"].where(frame["list"] == "relief").groupby(frame["_key"]).sum()
            counts["sme_credit_lines"] = frame["suggested_credit_line"].where(frame["list"] == "sme_funding").groupby(frame["_key"]).sum()
        counts.index.name = by
        return counts.reset_index()

    def manifest(self) -> dict[str, Any]:
        """The run's record (``manifest.json``): version, as-of, policy, inputs, counts."""
        rows = self.validation.rows.set_index("table")
        inputs = {}
        sources = self.validation.dataset.sources
        for table in [t for t in input_tables() if t in sources]:
            entry = sources[table].to_dict()
            entry.update(
                rows_read=int(rows.loc[table, "read"]) if table in rows.index else sources[table].rows_read,
                rows_rejected=int(rows.loc[table, "rejected"]) if table in rows.index else 0,
                rows_used=int(rows.loc[table, "used"]) if table in rows.index else 0,
            )
            inputs[table] = entry
        severity = self.validation.issues["severity"].value_counts()
        sizes = self.screening["size_class"].value_counts()
        return {
            "zjfin_version": __version__,
            "as_of": str(self.as_of.date()),
            "dataset": self.validation.dataset.name,
            "policy": self.policy.to_dict(),
            "inputs": inputs,
            "firms": dict(self.validation.firms),
            "issues": {s: int(severity.get(s, 0)) for s in ("error", "warning", "info")},
            "risks_switched_off": self.switched_off,
            "model": self._model_record(),
            "counts": {
                "size_class": {c: int(sizes.get(c, 0)) for c in SIZE_CLASSES},
                **{risk: self._level_counts(risk) for risk in RISK_TABLES if risk in self.screening},
                "zombie": int(self.screening["zombie"].eq(True).sum()) if "zombie" in self.screening else 0,
                "not_viable": int(self.screening["viable"].eq(False).sum()) if "viable" in self.screening else 0,
                "guarantee_network": self._network_counts(),
                "lists": self._list_counts(),
            },
            "timings": dict(self.timings),
        }

    def _model_record(self) -> dict[str, Any] | None:
        """What the manifest says of the default model: its checksum (the model file's
        ``sha256``), features and training sample."""
        if self.model is None:
            return None
        from zjfin.model.persist import model_checksum

        pd_12m = self.screening["pd_12m"]
        return {"sha256": model_checksum(self.model), "features": list(self.model.features_),
                "n_train": self.model.n_train_, "event_rate": self.model.event_rate_,
                "pd_12m_mean": float(pd_12m.mean()) if pd_12m.notna().any() else None}

    @property
    def circles(self) -> pd.DataFrame | None:
        """Guarantee circles (``circles.parquet``); None when the network was switched off."""
        return self.tables.get("circles")

    def plot_circle(self, circle_id: str, ax: Any = None) -> Any:
        """Draw one guarantee circle (see :func:`zjfin._plots.plot_guarantee_circle`)."""
        from zjfin._plots import plot_guarantee_circle

        return plot_guarantee_circle(self, circle_id, ax=ax)

    def plot_neighbourhood(self, firm_id: str, depth: int = 1, ax: Any = None, max_nodes: int = 60) -> Any:
        """Draw a firm's guarantors and borrowers within ``depth`` steps (see
        :func:`zjfin._plots.plot_guarantee_neighbourhood`)."""
        from zjfin._plots import plot_guarantee_neighbourhood

        return plot_guarantee_neighbourhood(self, firm_id, depth=depth, ax=ax, max_nodes=max_nodes)

    def plot_maturity_wall(self, months: int = 24, ax: Any = None) -> Any:
        """Bonds falling due per month (see :func:`zjfin._plots.plot_maturity_wall`)."""
        from zjfin._plots import plot_maturity_wall

        return plot_maturity_wall(self, months=months, ax=ax)

    def plot_pledge_distance(self, bins: int = 40, ax: Any = None) -> Any:
        """Pledge contracts' distance to the liquidation line (see :func:`zjfin._plots.plot_pledge_distance`)."""
        from zjfin._plots import plot_pledge_distance

        return plot_pledge_distance(self, ax=ax, bins=bins)

    def plot_list_counts(self, by: str = "city", ax: Any = None) -> Any:
        """Firms per list by city or county (see :func:`zjfin._plots.plot_list_counts`)."""
        from zjfin._plots import plot_list_counts

        return plot_list_counts(self, by=by, ax=ax)

    def _network_counts(self) -> dict[str, int] | None:
        graph = self.tables.get("graph")
        if graph is None:
            return None
        s = self.screening
        return {
            "guarantees_in_force": int(graph.guarantees_used),
            "guarantee_pairs": int(graph.matrix.nnz),
            "nodes_outside_firms": int(graph.n_nodes - graph.n_firms),
            "firms_in_network": int(((s["guarantee_out"] > 0) | (s["guarantee_in"] > 0) | s["guarantee_group_id"].notna()).sum()),
            "circles": int(len(self.circles)),
            "firms_in_circles": int(s["guarantee_circle_id"].notna().sum()),
            "firms_in_mutual_pairs": int(s["mutual_guarantee"].eq(True).sum()),
            "max_chain_depth": int(s["chain_depth"].max()) if len(s) else 0,
        }

    def _list_counts(self) -> dict[str, dict[str, float]] | None:
        """Firms and amounts per list (SPEC §7: "counts and amounts per list")."""
        if "list" not in self.screening:
            return None
        s = self.screening
        out = {}
        for name in LISTS:
            mine = s[s["list"] == name]
            # Amounts in yuan, to the fen.
            out[name] = {
                "firms": int(len(mine)),
                "revenue": round(float(mine["revenue"].sum()), 2),
                "total_liabilities": round(float(mine["total_liabilities"].sum()), 2),
                "bond_due_12m": round(float(mine["bond_due_12m"].sum()), 2) if "bond_due_12m" in mine else 0.0,
                "suggested_credit_line": round(float(mine["suggested_credit_line"].sum()), 2) if name == "sme_funding" else 0.0,
            }
        return out

    def _level_counts(self, column: str) -> dict[str, int]:
        """Firms per risk level; ``switched_off`` counts firms whose level is null."""
        counts = self.screening[column].value_counts()
        out = {level: int(counts.get(level, 0)) for level in RISK_LEVELS}
        out["switched_off"] = int(self.screening[column].isna().sum())
        return out

    def exit_code(self) -> int:
        """0 clean; 1 rejected rows or warnings above the policy limit."""
        return self.validation.exit_code(self.policy)

    def export(self, out: str, formats: tuple[str, ...] = ("parquet", "csv", "xlsx")) -> list[str]:
        """Write the output layout (SPEC §7) into ``out`` atomically; see :mod:`zjfin._export`."""
        from zjfin._export import export_result

        return export_result(self, out, formats=formats)

    def __repr__(self) -> str:
        f = self.validation.firms
        return (f"<zjfin.ScreeningResult as of {self.as_of.date()}: {f['screened']:,} firms screened, "
                f"{f['not_screened']:,} not screened>")

    def _repr_html_(self) -> str:
        f = self.validation.firms
        head = (f"<p><b>zjfin screening</b> as of {self.as_of.date()} — firms read {f['read']:,}, "
                f"screened {f['screened']:,}, not screened {f['not_screened']:,}</p>")
        parts = [head]
        if "list" in self.screening:
            lists = self.screening["list"].value_counts().reindex(list(LISTS), fill_value=0)
            parts.append("<p>Lists: " + ", ".join(f"{k} {int(v):,}" for k, v in lists.items()) + "</p>")
        levels = {risk: self._level_counts(risk) for risk in RISK_TABLES if risk in self.screening}
        if levels:
            parts.append(pd.DataFrame(levels).T.to_html())
        parts.append(self.summary("city").to_html(index=False))
        return "".join(parts)


def screen(
    dataset: Dataset,
    as_of: str | dt.date | pd.Timestamp,
    policy: Policy | None = None,
    progress: bool | Progress = False,
    model: Any = None,
    n_jobs: int | None = None,
) -> ScreeningResult:
    """Screen every firm of a dataset.

    Parameters
    ----------
    dataset : Dataset
        From :func:`zjfin.read_dataset` or :func:`zjfin.datasets.synthetic_province`.
    as_of : date
        Screening date: the current fiscal period of a firm is its latest ending on or
        before it.
    policy : Policy, optional
        Thresholds and tables (default :meth:`Policy.default`).
    progress : bool or Progress
        Report stages (a bar on a terminal, log lines otherwise).
    model : DefaultModel or path, optional
        A fitted :class:`zjfin.model.DefaultModel` (or its JSON file) trained on
        :func:`zjfin.model.features`: it fills ``pd_12m``, which the policy's
        ``[lists] quality_max_pd`` then uses.
    n_jobs : int, optional
        Threads for the independent stages (the risk engines run in two lanes, chain
        depth beside the DebtRank runs in the guarantee network, the Chinese and English
        reasons side by side). ``None`` (default): as many as the
        machine has cores, at most two; ``1``: one stage after the other. The result is the
        same either way.

    Returns
    -------
    ScreeningResult

    Examples
    --------
    >>> import zjfin
    >>> res = zjfin.screen(zjfin.datasets.synthetic_province(300, seed=4), as_of="2019-03-31")
    >>> int(res.screening["size_class"].isin(["medium", "small", "micro"]).mean() > 0.9)
    1
    """
    as_of_ts = _as_of(as_of)
    n_jobs = threads(n_jobs)
    policy = policy or Policy.default()
    if not isinstance(policy, Policy):
        raise ParameterError("policy", "a zjfin.Policy", policy)
    if model is not None and not hasattr(model, "predict_proba"):
        from zjfin.model import DefaultModel

        model = DefaultModel.from_json(model)  # a bad file fails before any work is done
    tracker = progress if isinstance(progress, Progress) else Progress(STAGES, enabled=bool(progress))
    with tracker.stage("validate"):
        report = validate(dataset, as_of=as_of_ts, policy=policy)
    clean = report.dataset
    present = set(clean.tables_present())
    with tracker.stage("features"):
        frame = firm_frame(clean["firms"], clean["financials"], as_of_ts)
        frame["industry_section"] = frame["industry_code"].str[0]
        frame["size_class"] = size_class(frame, policy.size_class.table)
        unknown = (frame["size_class"] == "unknown").to_numpy()
        if unknown.any():
            _add_size_findings(report, clean, pd.Index(frame.loc[unknown, "firm_id"]))
    outputs, extra_tables = _run_engines(frame, clean, present, as_of_ts, policy, tracker, n_jobs)
    # Column look-ups, not a concatenated copy of every column.
    fired = {code: o.fired[code] for o in outputs for code in o.fired.columns}
    values = {name: frame[name] for name in frame.columns}
    values.update((name, o.columns[name]) for o in outputs for name in o.columns.columns)
    with tracker.stage("model"):
        values["pd_12m"] = _probability_of_default(model, frame) if model is not None else np.full(len(frame), np.nan)
    with tracker.stage("lists"):
        placed = assign_lists(values, fired, policy, frame.index)
        outputs.append(placed)
        fired.update((code, placed.fired[code]) for code in placed.fired.columns)
        values.update((name, placed.columns[name]) for name in placed.columns.columns)
    with tracker.stage("reasons"):
        reasons = render_reasons(fired, values, index=frame.index, n_jobs=n_jobs)
    with tracker.stage("assemble"):
        columns = pd.concat([o.columns for o in outputs], axis=1)
        # Rows in the order of the firms file (stable for the same input); schema columns
        # first, then every further metric the engines computed.
        probability = pd.DataFrame({"pd_12m": values["pd_12m"]}, index=frame.index)
        everything = pd.concat([frame, columns, reasons, probability], axis=1)
        listed = [c.name for c in table_schema("screening").columns if c.since in _STAGES_BUILT and c.name in everything.columns]
        # One consolidating copy, in schema order (the engines' columns arrive as many blocks).
        screening = everything[listed].reset_index(drop=True).copy()
    present = set(dataset.tables_present())
    switched_off = [
        {"risk": risk, "missing_tables": [t for t in tables if t not in present]}
        for risk, tables in RISK_TABLES.items()
        if any(t not in present for t in tables)
    ]
    return ScreeningResult(screening, report, as_of_ts, policy, dict(tracker.timings), switched_off, extra_tables,
                           model=model)


def _probability_of_default(model: Any, frame: pd.DataFrame) -> np.ndarray:
    """``pd_12m`` of every firm from the model's features of the firm frame."""
    from zjfin.model.features import firm_features

    features = firm_features(frame)
    missing = [name for name in model.feature_names_ if name not in features.columns]
    if missing:
        raise ParameterError("model", "a model fitted on zjfin.model.features columns (these are not among them)",
                             missing)
    return model.predict_proba(features[model.feature_names_])[:, 1]


#: Per-firm risk stages in the order their columns are assembled, in two lanes that share
#: nothing (bonds → liquidity share the short-term funding): with ``n_jobs`` > 1 the lanes
#: run at once on threads — numpy, Arrow and the sorts release the GIL — and the result is
#: the same, column for column, as one after the other.
_ENGINE_ORDER = ("distress", "bonds", "liquidity", "pledges", "mujun", "working_capital")
_ENGINE_LANES = (("distress", "bonds", "liquidity", "pledges", "working_capital"), ("mujun",))


def _run_engines(frame: pd.DataFrame, clean: Dataset, present: set[str], as_of: pd.Timestamp, policy: Policy,
                 tracker: Progress, n_jobs: int = 1) -> tuple[list[EngineOutput], dict[str, Any]]:
    """Every per-firm risk engine, each a timed stage, then the guarantee network; a risk
    whose table is missing is switched off (its columns stay empty)."""
    done: dict[str, list[EngineOutput]] = {}
    tables: dict[str, Any] = {}
    shared: dict[str, pd.DataFrame] = {}

    def run_distress() -> list[EngineOutput]:
        return [distress(frame, policy)]

    def run_bonds() -> list[EngineOutput]:
        if "bonds" in present:
            maturities = bond_maturities(clean["bonds"], frame, as_of, policy)
            funding = short_term_funding(frame, maturities["bond_due_not_in_statement"].to_numpy())
            risk = bond_risk(clean["bonds"], frame, funding, maturities, policy)
        else:
            funding = short_term_funding(frame)
            risk = _switched_off(frame, {"bond_risk": "text", "bond_due_12m": "float"})
        shared["funding"] = funding
        return [risk, EngineOutput(funding, pd.DataFrame(index=frame.index))]

    def run_liquidity() -> list[EngineOutput]:
        if "loans" in present:
            return [liquidity_risk(clean["loans"], frame, shared["funding"], policy)]
        return [_switched_off(frame, {"liquidity_risk": "text"})]

    def run_pledges() -> list[EngineOutput]:
        if {"pledges", "prices"} <= present:
            contracts = pledge_contracts(clean["pledges"], clean["prices"], clean["firms"], as_of, policy)
            tables["pledges"] = contracts
            return [pledge_risk(contracts, frame, policy)]
        return [_switched_off(frame, {"pledge_risk": "text", "pledge_ratio": "float", "pledge_hit_prob": "float"})]

    def run_mujun() -> list[EngineOutput]:
        return [mujun(frame, policy)]

    def run_working_capital() -> list[EngineOutput]:
        return [working_capital(frame, policy)]

    stages = {"distress": run_distress, "bonds": run_bonds, "liquidity": run_liquidity, "pledges": run_pledges,
              "mujun": run_mujun, "working_capital": run_working_capital}

    def run_lane(names: tuple[str, ...]) -> None:
        for name in names:
            with tracker.stage(name):
                done[name] = stages[name]()

    start = time.perf_counter()
    if n_jobs > 1:
        with ThreadPoolExecutor(max_workers=len(_ENGINE_LANES) - 1, thread_name_prefix="zjfin") as pool:
            others = [pool.submit(run_lane, lane) for lane in _ENGINE_LANES[1:]]
            run_lane(_ENGINE_LANES[0])
            for future in others:
                future.result()  # re-raises an engine's error here
    else:
        for lane in _ENGINE_LANES:
            run_lane(lane)
    tracker.record("risk_engines_wall", time.perf_counter() - start)
    outputs = [output for name in _ENGINE_ORDER for output in done[name]]
    with tracker.stage("guarantee_network"):
        if "guarantees" in present:
            graph = guarantee_graph(clean["guarantees"], frame["firm_id"], as_of)
            risks = {name: o.columns[name] for o in outputs for name in o.columns.columns if name.endswith("_risk")}
            network, circles = guarantee_network(graph, frame, distressed_firms(risks, policy), policy, n_jobs=n_jobs)
            outputs.append(network)
            tables["circles"] = circles
            tables["graph"] = graph
        else:
            outputs.append(_switched_off(frame, NETWORK_COLUMNS))
    return outputs, tables


def _switched_off(frame: pd.DataFrame, columns: dict[str, str]) -> EngineOutput:
    """Empty columns for a risk whose input table is missing (null, never a guessed level)."""
    n = len(frame)
    makers = {
        "text": lambda: as_text(np.full(n, None, dtype=object), index=frame.index),
        "bool": lambda: pd.array(np.full(n, None, dtype=object), dtype="boolean"),
        "int": lambda: pd.array(np.full(n, None, dtype=object), dtype="Int64"),
        "float": lambda: np.full(n, np.nan),
    }
    empty = {name: makers[kind]() for name, kind in columns.items()}
    return EngineOutput(pd.DataFrame(empty, index=frame.index), pd.DataFrame(index=frame.index))


def _add_size_findings(report: ValidationReport, clean: Dataset, firm_ids: pd.Index) -> None:
    """Size class unknown: a warning on the firm's row (the missing indicator is named)."""
    firms = clean["firms"]
    rows = firms[firms["firm_id"].isin(firm_ids)]
    source = clean.sources.get("firms")
    codes = validation_codes()
    extra = pd.DataFrame(
        {
            "table": "firms",
            "file": source.path.rsplit("/", 1)[-1] if source and source.path else "",
            "row": rows["_row"].to_numpy(dtype=np.int64),
            "key": rows["firm_id"].to_numpy(dtype=object),
            "column": "size_class",
            "value": "unknown",
            "code": "size_unknown",
            "severity": codes.loc["size_unknown", "severity"],
            "message": codes.loc["size_unknown", "message_en"],
            "message_zh": codes.loc["size_unknown", "message_zh"],
            "rejects": False,
        }
    )
    report.issues = pd.concat([report.issues, extra], ignore_index=True)
