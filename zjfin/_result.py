"""The outcome of a screening: one row per screened firm and everything behind it.

:class:`ScreeningResult` is what :func:`zjfin.screen` returns and what a notebook works
with: the screening table, the validation report, the per-item tables (bonds, pledge
contracts, guarantee circles), which engine evaluated which firm (``coverage``), the lists,
reasons, summaries and plots. Writing it out is :mod:`zjfin._export`'s job.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zjfin._errors import ParameterError
from zjfin._features import SIZE_CLASSES
from zjfin._lists import LIST_FILES, LISTS, list_rows
from zjfin._policy import Policy
from zjfin._reasons import reason_catalogue
from zjfin._schema import risk_level_columns, table_schema
from zjfin._screening_parts import ScreeningParts
from zjfin._validate import ValidationReport

__all__ = ["ScreeningResult"]


class ScreeningResult:
    """The outcome of :func:`screen`: one row per screened firm and everything behind it.

    Attributes
    ----------
    screening : DataFrame
        One row per screened firm (``screening.parquet``). A province screened where its
        frames are (``read_dataset(folder, lazy=True)`` with ``engine="dask"``) keeps it in
        files (:class:`zjfin._screening_parts.ScreeningParts`) until it is first asked for:
        the export and the manifest read only the columns and rows they write.
    validation : ValidationReport
        Findings and rejected rows.
    as_of : Timestamp
    policy : Policy
    timings : dict
        Seconds per stage.
    peak_memory_mb : dict
        The process's peak resident memory (MB) when each stage ended (Unix; empty
        elsewhere), as the manifest's ``peak_memory_mb``.
    coverage : DataFrame
        Per engine: whether it ran, firms evaluated, not evaluated and not applicable, and
        the missing inputs behind the ones not evaluated (the manifest's ``coverage``).
    evaluated : DataFrame
        Per firm (same rows as ``screening``) and engine: True evaluated, False not
        evaluated, missing where the engine does not apply to the firm.
    switched_off : list of dict
        The risk levels left null for a missing table, and the tables missing.
    tables : dict
        Per-item tables behind the firm rows: ``bonds`` (one row per bond, with the
        maturity the engine used), ``pledges`` (one row per contract), ``circles`` (one row
        per guarantee circle) and ``graph`` (the :class:`zjfin.GuaranteeGraph`).
    """

    def __init__(self, screening: pd.DataFrame | ScreeningParts, validation: ValidationReport, as_of: pd.Timestamp,
                 policy: Policy, timings: dict[str, float], switched_off: list[dict[str, Any]],
                 tables: dict[str, Any] | None = None, model: Any = None,
                 coverage: pd.DataFrame | None = None, evaluated: pd.DataFrame | None = None) -> None:
        self._reading = threading.RLock()
        self._parts = screening if isinstance(screening, ScreeningParts) else None
        self._screening = None if self._parts is not None else screening
        #: The default model that filled ``pd_12m`` (None: the column is empty).
        self.model = model
        self.validation = validation
        self.as_of = as_of
        self.policy = policy
        self.timings = timings
        self.peak_memory_mb: dict[str, float] = {}
        #: How the screening ran: ``{"name": "local"}``, or for the Dask engine its
        #: partitions (``partitions``, ``partition_firms``) and ``workers`` (the manifest's ``engine``).
        self.engine: dict[str, Any] = {"name": "local"}
        self.switched_off = switched_off
        self.tables = dict(tables or {})
        self.coverage = coverage if coverage is not None else pd.DataFrame()
        self.evaluated = evaluated if evaluated is not None else pd.DataFrame(index=pd.RangeIndex(len(screening)))

    @property
    def screening(self) -> pd.DataFrame:
        with self._reading:  # read once, whichever thread asks first
            if self._screening is None:  # kept in files: read in the firms file's order
                self._screening = self._parts.frame()
                # The files go with the last holder (an export writing from them, a copy of this result).
                self._parts = None
        return self._screening

    @screening.setter
    def screening(self, frame: pd.DataFrame) -> None:
        with self._reading:
            self._screening, self._parts = frame, None

    def __getstate__(self) -> dict[str, Any]:
        # A pickled result carries its screening, not the paths of files that go with this object.
        state = {**self.__dict__, "_screening": self.screening, "_parts": None}
        del state["_reading"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reading = threading.RLock()

    def screening_columns(self, columns: list[str]) -> pd.DataFrame:
        """The screening's ``columns`` (those it has), every firm in its row: read alone
        when the screening is kept in files."""
        parts = self._parts
        if parts is None:
            return self.screening[[c for c in columns if c in self.screening.columns]]
        return parts.frame([c for c in columns if c in parts.columns])

    def list_rows(self, name: str) -> pd.DataFrame:
        """One list's rows as its files hold them (:func:`zjfin._lists.list_rows`): the
        list's firms alone, read from each file, when the screening is kept in files."""
        parts = self._parts
        if parts is None:
            return list_rows(self.screening, name)
        read = [c for c in dict.fromkeys([*table_schema("lists").names, "list", "region_code", "priority"])
                if c in parts.columns]
        return list_rows(parts.rows_where("list", name, read), name)

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
        return {name: self.list_rows(name) for name in LIST_FILES}

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
        screening = self.screening_columns(["region_code", "industry_section", "size_class", "list", "revenue",
                                            "total_liabilities", "suggested_credit_line"])  # not every column
        keys = {
            "region": screening["region_code"],
            "city": screening["region_code"].str[:4],
            "industry": screening["industry_section"],
            "size_class": screening["size_class"],
        }
        if by not in keys:
            raise ParameterError("by", f"one of {', '.join(keys)}", by)
        groups = {"list": list(LISTS), "size_class": list(SIZE_CLASSES)}
        if of not in groups or of not in screening.columns:
            raise ParameterError("of", "list or size_class", of)
        frame = screening.assign(_key=keys[by].to_numpy())
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


    def manifest(self) -> dict[str, Any]:
        """The run's record (``manifest.json``; see :func:`zjfin._export.manifest`)."""
        from zjfin._export import manifest

        return manifest(self)

    def exit_code(self) -> int:
        """0 clean; 1 rejected rows or warnings above the policy limit."""
        return self.validation.exit_code(self.policy)

    def export(self, out: str, formats: tuple[str, ...] = ("parquet", "csv", "xlsx"),
               mask_person_ids: bool | None = None, by_county: bool | None = None) -> list[str]:
        """Write the output layout (SPEC §7) into ``out`` atomically; see :mod:`zjfin._export`.

        ``mask_person_ids`` (default: the policy's ``[output] mask_person_ids``) masks the
        ids of natural-person pledgers in ``pledges.parquet``; the policy the manifest
        records is the one screened with either way. ``by_county`` writes the screening as
        ``screening/<county>.parquet`` (default: when it ran by county, ``engine="dask"``).
        """
        from zjfin._export import export_result

        return export_result(self, out, formats=formats, mask_person_ids=mask_person_ids, by_county=by_county)

    def report(self, path: str | os.PathLike[str] | None = None, previous: Any = None, title: str | None = None,
               lang: str = "zh") -> Any:
        """The quarterly bulletin (季度通报) of this screening; see :mod:`zjfin._report`.

        ``previous``: the previous quarter's :class:`ScreeningResult`, screening table or
        output folder (the changes and movements since then). With ``path``, writes
        ``report.html`` and ``通报.xlsx`` into that folder and returns their names; without,
        returns the :class:`~zjfin._report.Bulletin`, which a notebook displays inline.

        Examples
        --------
        >>> import zjfin
        >>> res = zjfin.screen(zjfin.datasets.synthetic_province(300, seed=1), as_of="2019-03-31")
        >>> page = res.report().html()
        >>> page.startswith("<!DOCTYPE html>") and "企业融资风险季度分析通报" in page
        True
        """
        from zjfin._export import manifest
        from zjfin._report import _screening, bulletin

        if isinstance(previous, ScreeningResult):
            previous = previous.screening
        elif isinstance(previous, (str, os.PathLike)):
            previous = _screening(Path(previous))
        made = bulletin(self.screening, manifest(self), circles=self.tables.get("circles"),
                        pledges=self.tables.get("pledges"), findings=self.validation.to_frame(), previous=previous,
                        title=title, lang=lang)
        return made if path is None else made.write(path)

    def __repr__(self) -> str:
        f = self.validation.firms
        return (f"<zjfin.ScreeningResult as of {self.as_of.date()}: {f['screened']:,} firms screened, "
                f"{f['not_screened']:,} not screened>")

    def _repr_html_(self) -> str:
        f = self.validation.firms
        head = (f"<p><b>zjfin screening</b> as of {self.as_of.date()} — firms read {f['read']:,}, "
                f"screened {f['screened']:,}, not screened {f['not_screened']:,}</p>")
        parts = [head]
        screening = self.screening_columns(["list", *risk_level_columns()])  # not every column
        if "list" in screening:
            lists = screening["list"].value_counts().reindex(list(LISTS), fill_value=0)
            parts.append("<p>Lists: " + ", ".join(f"{k} {int(v):,}" for k, v in lists.items()) + "</p>")
        from zjfin._export import level_counts

        levels = {risk: level_counts(screening, risk) for risk in risk_level_columns()}
        if levels:
            parts.append(pd.DataFrame(levels).T.to_html())
        parts.append(self.summary("city").to_html(index=False))
        return "".join(parts)
