"""The risk engines, each declared once: what it reads, what it writes, what it needs.

Stage "risks" of the data flow. An :class:`Engine` names the input tables it needs (absent:
the engine is switched off and its columns are null), the engines whose outputs it takes
(``depends``: it cannot run without them; ``uses``: it takes them when they ran), the
firm-frame columns it reads and, of those, the ones a firm must have for the engine's
verdict (``needs``), the policy sections it uses, and one ``run`` function on an
:class:`EngineContext`. The screening columns it writes are not listed here: each column of
``data_schemas/screening.json`` names its engine, so the contract says it once.

:func:`run_engines` runs the registry in dependency order; per-firm engines (``scope``
``"firm"``) are functions of any set of whole counties (given the province's reductions), the guarantee network (``"province"``)
is the one global stage and runs after them. Its result also says, for every engine and
firm, whether the engine evaluated the firm and, if not, which inputs were missing
(:func:`coverage`).

Adding an engine is one declaration and one function::

    def run_esg(ctx):
        score = ctx.frame["emissions_t"].to_numpy(dtype=float) / ctx.frame["revenue"].to_numpy()
        return EngineOutput(pd.DataFrame({"esg_score": score}, index=ctx.frame.index), pd.DataFrame(index=ctx.frame.index))

    register(Engine("esg", run_esg, reads=("emissions_t", "revenue"), needs=("emissions_t",),
                    verdict="esg_score", columns={"esg_score": "float"}))

(``columns`` is given only for an engine outside the data contract; the built-in ones
take theirs from the schema.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from zjfin._arrow import as_text, distinct
from zjfin._errors import SchemaError
from zjfin._features import size_class
from zjfin._lanes import Lanes
from zjfin._policy import Policy
from zjfin._schema import input_tables, risk_level_columns, table_schema
from zjfin.risks import EngineOutput

#: In the coverage: firms not evaluated although no input they need is missing.
UNUSABLE = "inputs present but unusable"

__all__ = ["Engine", "Reduction", "Rule", "EngineContext", "ENGINES", "register", "unregister", "engine_columns", "column_owner",
           "run_engines", "EngineRun", "coverage", "switched_off_output", "switched_off_risks"]


@dataclass
class EngineContext:
    """What an engine's ``run`` receives.

    Attributes
    ----------
    frame : DataFrame
        The firm frame (:func:`zjfin.firm_frame`): one row per screened firm.
    tables : mapping
        The validated input tables that are present.
    as_of : Timestamp
    policy : Policy
    inputs : mapping of engine name to EngineOutput
        The outputs of the engines it ``depends`` on and of those it ``uses`` that ran.
    model : DefaultModel or None
    n_jobs : int
        Threads the engine may use itself (the guarantee network does).
    province : mapping of engine name to its reduction's result
        In a screening by partitions, the province's figures of the engines that declare a
        :class:`Reduction` (empty otherwise: the frame is the province).
    """

    frame: pd.DataFrame
    tables: Mapping[str, pd.DataFrame]
    as_of: pd.Timestamp
    policy: Policy
    inputs: Mapping[str, EngineOutput] = field(default_factory=dict)
    model: Any = None
    n_jobs: int = 1
    province: Mapping[str, Any] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        """Whether :meth:`column` finds ``name``."""
        return name in self.frame.columns or any(name in o.columns.columns for o in self.inputs.values())

    def column(self, name: str) -> Any:
        """A column of the firm frame or of an input engine's output (frame first)."""
        if name in self.frame.columns:
            return self.frame[name]
        for output in self.inputs.values():
            if name in output.columns.columns:
                return output.columns[name]
        raise KeyError(name)


@dataclass(frozen=True)
class Rule:
    """One rule of an engine, as the coverage reports it.

    Parameters
    ----------
    name : str
        The rule (its reason code, such as ``V5``, or a short name).
    needs : tuple of str or tuple of tuples
        The firm-frame columns it reads; a tuple of names is met by any one of them.
    verdict : str or callable, optional
        The column whose null means the rule gave no result, or ``verdict(columns) ->
        bool array``; without one, a firm is evaluated where every need is met.
    estimated : str, optional
        A boolean column: True where the result was estimated rather than computed from
        the firm's own data.
    why : str, optional
        A text column naming, for a firm not evaluated, what it lacked when that is not a
        firm-frame column (a table, a share price): counted in ``missing_inputs``.
    """

    name: str
    needs: tuple[str | tuple[str, ...], ...] = ()
    verdict: str | Callable[[Mapping[str, Any]], np.ndarray] | None = None
    estimated: str | None = None
    why: str | None = None


@dataclass(frozen=True)
class Reduction:
    """What a per-firm engine takes from the whole province (a benchmark's median): each
    partition's ``shares(frame, policy) -> DataFrame`` (a few columns for some of its firms),
    and ``reduce(shares, policy)``, the province's figures from every partition's shares
    concatenated, in any order (the result must not depend on it). The engine receives
    the figures as ``ctx.province[name]``; without them it makes them from its frame.
    """

    shares: Callable[[pd.DataFrame, Policy], pd.DataFrame]
    reduce: Callable[[pd.DataFrame, Policy], Any]


@dataclass(frozen=True)
class Engine:
    """One risk engine.

    Parameters
    ----------
    name : str
        The name its screening columns carry in ``data_schemas/screening.json``.
    run : callable
        ``run(ctx: EngineContext) -> EngineOutput``.
    tables : tuple of str
        Input tables it needs: without one, it is switched off (its columns are null). In a
        screening by county a partition is handed only the tables its engines name here.
    depends : tuple of str
        Engines whose outputs it needs: when one is switched off, so is this one.
    uses : tuple of str
        Engines whose outputs it takes when they ran.
    reads : tuple of str
        Firm-frame columns it reads (a missing column counts as all missing).
    needs : tuple of str or tuple of tuples
        The columns, among ``reads``, without which a firm gets no verdict; a tuple of
        names is satisfied by any one of them. For coverage.
    verdict : str or callable, optional
        The column whose null means a firm was not evaluated, or ``verdict(columns) ->
        bool array`` saying which firms were (default: every firm in scope is evaluated
        when the engine runs).
    applies : callable, optional
        ``applies(frame, policy) -> bool array``: the firms in the engine's scope (default
        all); the others are "not applicable", not "not evaluated".
    estimated : str, optional
        A boolean column: True where the engine's verdict was estimated (see :class:`Rule`).
    rules : tuple of Rule
        Its rules, each reported on its own in the coverage.
    policy : tuple of str
        Policy sections it reads.
    scope : {"firm", "province"}
        ``firm``: a function of any set of whole counties (given ``reduction``'s figures);
        ``province``: needs all firms at once, and runs after the per-firm engines.
    reduction : Reduction, optional
        The province's figures a per-firm engine falls back on (see :class:`Reduction`).
    partitioned : bool
        Whether a screening by county runs it on each partition (default); ``False`` for a
        per-firm engine that links firms across counties (a pledger's level from the
        contracts on other firms' shares): it runs once, on every firm. An engine of scope
        ``province`` runs once whatever this says (:attr:`by_partition`).
    needs_model : bool
        Runs only when a default model is supplied.
    columns : mapping of name to type, optional
        Only for an engine outside the data contract: its columns and types (str, float,
        int, bool, date); built-in engines take theirs from the screening schema.
    """

    name: str
    run: Callable[[EngineContext], EngineOutput]
    tables: tuple[str, ...] = ()
    depends: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    needs: tuple[str | tuple[str, ...], ...] = ()
    verdict: str | Callable[[Mapping[str, Any]], np.ndarray] | None = None
    applies: Callable[[pd.DataFrame, Policy], np.ndarray] | None = None
    estimated: str | None = None
    rules: tuple[Rule, ...] = ()
    policy: tuple[str, ...] = ()
    scope: str = "firm"
    needs_model: bool = False
    columns: Mapping[str, str] | None = None
    reduction: Reduction | None = None
    partitioned: bool = True

    @property
    def by_partition(self) -> bool:
        """Whether a screening by county runs it partition by partition."""
        return self.partitioned and self.scope == "firm"

    @property
    def outputs(self) -> dict[str, str]:
        """The screening columns it writes and their types."""
        if self.columns is not None:
            return dict(self.columns)
        return {c.name: c.type for c in table_schema("screening").columns if c.engine == self.name}

    def missing_prerequisites(self, present: set[str], model: Any, off: set[str]) -> list[str]:
        """What keeps it from running: absent tables, a missing model, switched-off engines."""
        missing = [t for t in self.tables if t not in present]
        if self.needs_model and model is None:
            missing.append("model")
        # An engine it depends on is named only when nothing of its own explains it.
        return missing or [f"engine {d}" for d in self.depends if d in off]


#: The engines, in an order where every engine comes after those it depends on or uses.
ENGINES: dict[str, Engine] = {}


def register(engine: Engine) -> Engine:
    """Add an engine to the registry (after the engines it depends on or uses).

    Raises
    ------
    SchemaError
        The name is taken, a dependency is unknown, a policy section does not exist, it
        writes no column, or a column it writes belongs to another engine.
    """
    if engine.name in ENGINES:
        raise SchemaError(f"engine {engine.name!r} is registered already")
    unknown = [d for d in (*engine.depends, *engine.uses) if d not in ENGINES]
    if unknown:
        raise SchemaError(f"engine {engine.name!r} depends on {unknown}, which are not registered before it")
    if engine.scope not in ("firm", "province"):
        raise SchemaError(f"engine {engine.name!r}: scope must be firm or province, got {engine.scope!r}")
    sections = [s for s in engine.policy if s not in Policy.default().to_dict()]
    if sections:
        raise SchemaError(f"engine {engine.name!r} reads policy sections {sections}, which the policy does not have")
    columns = engine.outputs
    if not columns:
        raise SchemaError(f"engine {engine.name!r} writes no screening column (name it in screening.json)")
    if engine.columns is not None:
        taken = {c: owner for c, owner in _owners().items() if c in columns}
        taken.update({c: e.name for e in ENGINES.values() if e.columns for c in e.columns if c in columns})
        if taken:
            raise SchemaError(f"engine {engine.name!r}: columns {sorted(taken)} belong to {sorted(set(taken.values()))}")
    ENGINES[engine.name] = engine
    return engine


def unregister(name: str) -> None:
    """Remove an engine that no other engine depends on or uses."""
    users = [e.name for e in ENGINES.values() if name in (*e.depends, *e.uses)]
    if users:
        raise SchemaError(f"engine {name!r} is used by {users}")
    del ENGINES[name]


@lru_cache(maxsize=None)
def _owners() -> dict[str, str]:
    return {c.name: c.engine for c in table_schema("screening").columns}


def column_owner(column: str) -> str | None:
    """The engine (or stage: ``frame``, ``lists``, ``reasons``) that writes a screening column.

    Examples
    --------
    >>> column_owner("bond_risk"), column_owner("cash_to_st_debt")
    ('bonds', 'funding')
    """
    owner = _owners().get(column)
    if owner is None:
        owner = next((e.name for e in ENGINES.values() if e.columns and column in e.columns), None)
    return owner


def engine_columns() -> dict[str, str]:
    """Every column the engines write, in screening-schema order (then engines outside it)."""
    out = {c.name: c.type for c in table_schema("screening").columns if c.engine in ENGINES}
    for engine in ENGINES.values():
        if engine.columns:
            out.update(engine.columns)
    return out


def null_columns(columns: Mapping[str, str], index: pd.Index) -> pd.DataFrame:
    """Columns of nulls of the given schema types (a switched-off engine's output): the
    dtypes the engines give when they run, so the screening keeps one schema.

    Examples
    --------
    >>> from zjfin._arrow import TEXT
    >>> frame = null_columns({"a": "str", "b": "bool", "c": "int", "d": "float"}, pd.RangeIndex(1))
    >>> frame["a"].dtype == TEXT, frame.dtypes.astype(str).tolist()[1:]
    (True, ['boolean', 'Int64', 'float64'])
    """
    n = len(index)
    makers: dict[str, Callable[[], Any]] = {
        "str": lambda: as_text(np.full(n, None, dtype=object), index=index),
        "bool": lambda: pd.array(np.full(n, None, dtype=object), dtype="boolean"),
        "int": lambda: pd.array(np.full(n, None, dtype=object), dtype="Int64"),
        "float": lambda: np.full(n, np.nan),
        "date": lambda: np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"),
    }
    return pd.DataFrame({name: makers[kind]() for name, kind in columns.items()}, index=index, copy=False)


@dataclass
class EngineRun:
    """What :func:`run_engines` gives back."""

    outputs: dict[str, EngineOutput]
    """Every engine's output, switched-off ones as nulls (by engine name)."""
    switched_off: dict[str, list[str]]
    """Engines that did not run and what they lacked (tables, ``model``, ``engine …``)."""
    applicable: dict[str, np.ndarray] = field(default_factory=dict)
    """Per engine that ran: the firms in its scope."""
    firm_seconds: float = 0.0
    """Wall time of the per-firm engines (they run side by side)."""

    @property
    def tables(self) -> dict[str, Any]:
        """The per-item tables the engines computed (bonds, pledges, circles, graph)."""
        return {name: table for output in self.outputs.values() for name, table in output.tables.items()}


def run_engines(context: EngineContext, lanes: Lanes, second_lane: tuple[str, ...] = ()) -> EngineRun:
    """Run every registered engine on the context, in dependency order.

    Per-firm engines run on ``lanes`` (those named in ``second_lane`` on its second
    lane); province-wide ones follow once the per-firm ones are done. A switched-off
    engine writes its columns as nulls. Each engine is timed under its name.

    Returns
    -------
    EngineRun
    """
    off = _switched_off(context)

    def runner(engine: Engine) -> Callable[..., EngineOutput]:
        def run(**inputs: EngineOutput) -> EngineOutput:
            ctx = EngineContext(context.frame, context.tables, context.as_of, context.policy, inputs,
                                context.model, context.n_jobs, context.province)
            output = engine.run(ctx)
            _check_output(engine, output)
            return output
        return run

    def inputs_of(engine: Engine) -> tuple[str, ...]:
        return tuple(d for d in (*engine.depends, *engine.uses) if d not in off)

    outputs: dict[str, EngineOutput] = {}
    start = time.perf_counter()
    for engine in ENGINES.values():
        if engine.name in off:
            with lanes.timed(engine.name):
                outputs[engine.name] = switched_off_output(engine, context.frame.index)
        elif engine.scope == "firm":
            lanes.task(engine.name, runner(engine), inputs=inputs_of(engine), lane=int(engine.name in second_lane))
    for engine in ENGINES.values():
        if engine.name not in off and engine.scope == "firm":
            outputs[engine.name] = lanes[engine.name]
    firm_seconds = time.perf_counter() - start
    for engine in ENGINES.values():
        if engine.name not in off and engine.scope == "province":
            with lanes.timed(engine.name):
                outputs[engine.name] = runner(engine)(**{d: outputs[d] for d in inputs_of(engine)})
    applicable = {name: _applicable(ENGINES[name], context) for name in ENGINES if name not in off}
    return EngineRun({name: outputs[name] for name in ENGINES}, off, applicable, firm_seconds)


def stage_columns(frame: pd.DataFrame, outputs: Mapping[str, EngineOutput]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The reasons the engines fired (code → mask) and every column by name, the frame's
    then each engine's in order: look-ups, not a concatenated copy of every column."""
    fired = {code: o.fired[code] for o in outputs.values() for code in o.fired.columns}
    values: dict[str, Any] = {name: frame[name] for name in frame.columns}
    for output in outputs.values():
        values.update((name, output.columns[name]) for name in output.columns.columns)
    return fired, values


def switched_off_output(engine: Engine, index: pd.Index) -> EngineOutput:
    """What an engine that cannot run gives: its columns as nulls, no reason fired."""
    return EngineOutput(null_columns(engine.outputs, index), pd.DataFrame(index=index))


def _switched_off(context: EngineContext) -> dict[str, list[str]]:
    """The engines that cannot run on the context and what each lacks (known before any runs)."""
    present = set(context.tables)
    off: dict[str, list[str]] = {}
    for engine in ENGINES.values():
        missing = engine.missing_prerequisites(present, context.model, set(off))
        if missing:
            off[engine.name] = missing
    return off


def _applicable(engine: Engine, context: EngineContext) -> np.ndarray:
    n = len(context.frame)
    if engine.applies is None:
        return np.ones(n, dtype=bool)
    return np.asarray(engine.applies(context.frame, context.policy), dtype=bool)


def _check_output(engine: Engine, output: EngineOutput) -> None:
    """An engine writes every column it owns (a developer's mistake otherwise)."""
    lacking = [c for c in engine.outputs if c not in output.columns.columns]
    if lacking:
        raise SchemaError(f"engine {engine.name!r} did not write its columns {lacking}")


def _missing(frame: pd.DataFrame, need: str | tuple[str, ...]) -> np.ndarray:
    """Where a need is not met: the column (or every alternative) is absent or null."""
    names = (need,) if isinstance(need, str) else need
    out = np.ones(len(frame), dtype=bool)
    for name in names:
        if name in frame.columns:
            out &= frame[name].isna().to_numpy()
    return out


COVERAGE_COLUMNS = ["engine", "rule", "status", "missing", "firms", "evaluated", "estimated", "not_evaluated",
                    "not_applicable", "missing_inputs", "low_coverage"]


def coverage(run: EngineRun, frame: pd.DataFrame, columns: Mapping[str, Any],
             min_share: float = 0.0) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Per engine, and per rule it declares: firms evaluated from data, estimated, not
    evaluated and not applicable, and the inputs behind the ones not evaluated.

    Parameters
    ----------
    run : EngineRun
    frame : DataFrame
        The firm frame.
    columns : mapping
        Every screening column by name (the verdicts are read from it).
    min_share : float
        ``low_coverage`` is true where an engine that ran, or a rule of it, evaluated or
        estimated fewer than this share of the firms it applies to (``[validation]
        min_coverage``).

    Returns
    -------
    summary : DataFrame
        One row per engine (``rule`` empty: the engine's own verdict), then one per rule:
        ``engine``, ``rule``, ``status`` (``ran`` or ``switched_off``), ``missing`` (what a
        switched-off engine lacked: tables, ``model``, ``engine …``), ``firms``,
        ``evaluated``, ``estimated``, ``not_evaluated``, ``not_applicable`` (these four add
        up to ``firms``) and ``missing_inputs`` (a dict: input → firms not evaluated that lack
        it; :data:`UNUSABLE` counts those whose inputs are all there but not usable).
    evaluated : dict of engine name to nullable bool array
        Per firm, the engine's own verdict: True evaluated (or estimated), False not
        evaluated, NA not applicable.
    """
    counts, per_firm = coverage_counts(run.switched_off, run.applicable, frame, columns)
    return coverage_summary([counts], min_share), per_firm


def _engine_rules(engine: Engine) -> tuple[Rule, ...]:
    """An engine's coverage rows: its own verdict (rule ``""``), then each rule it declares."""
    return (Rule("", engine.needs, engine.verdict, engine.estimated), *engine.rules)


def coverage_counts(switched_off: Mapping[str, list[str]], applicable: Mapping[str, np.ndarray], frame: pd.DataFrame,
                    columns: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """:func:`coverage`'s counts for a set of firms (a partition), to be added up by
    :func:`coverage_summary`: every verdict is a firm's own, so the counts of any split of
    the firms add up to the whole's."""
    n = len(frame)
    rows, per_firm = [], {}
    for name, engine in ENGINES.items():
        if name in switched_off:
            per_firm[name] = pd.array(np.zeros(n, dtype=bool), dtype="boolean")
            for rule in _engine_rules(engine):
                rows.append({"engine": name, "rule": rule.name, "status": "switched_off",
                             "missing": list(switched_off[name]), "firms": n, "evaluated": 0, "estimated": 0,
                             "not_evaluated": n, "not_applicable": 0, "missing_inputs": {}})
            continue
        scope = applicable[name]
        for rule in _engine_rules(engine):
            row, known = _rule_coverage(rule, scope, frame, columns)
            rows.append({"engine": name, "status": "ran", "missing": [], **row})
            if not rule.name:
                flags = pd.array(known, dtype="boolean")
                flags[~scope] = pd.NA
                per_firm[name] = flags
    return rows, per_firm


_COUNTS = ("firms", "evaluated", "estimated", "not_evaluated", "not_applicable")


def coverage_summary(parts: list[list[dict[str, Any]]], min_share: float = 0.0) -> pd.DataFrame:
    """:func:`coverage`'s summary from the counts of its parts (:func:`coverage_counts`, one
    list of rows a part, each part's rows in the same order): counts added, the missing
    inputs added and ordered as one part's are (the rule's needs in order, then the other
    reasons alphabetically, :data:`UNUSABLE` last), ``low_coverage`` judged on the sums."""
    rules = [rule for engine in ENGINES.values() for rule in _engine_rules(engine)]
    rows = []
    for k, first in enumerate(parts[0]):
        row = {**first, **{c: sum(p[k][c] for p in parts) for c in _COUNTS}}
        missing: dict[str, int] = {}
        for part in parts:
            for key, count in part[k]["missing_inputs"].items():
                missing[key] = missing.get(key, 0) + count
        needs = [need if isinstance(need, str) else " or ".join(need) for need in rules[k].needs]
        rank = {name: i for i, name in enumerate(needs)}
        row["missing_inputs"] = {key: missing[key] for key in sorted(
            missing, key=lambda key: (0, rank[key], "") if key in rank else (2, 0, "") if key == UNUSABLE else (1, 0, key))}
        applicable = row["firms"] - row["not_applicable"]
        low = row["status"] == "ran" and applicable > 0 and (row["evaluated"] + row["estimated"]) < min_share * applicable
        rows.append({**row, "low_coverage": bool(low)})
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


def _rule_coverage(rule: Rule, scope: np.ndarray, frame: pd.DataFrame,
                   columns: Mapping[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    """One coverage row, and where the rule gave a result (from data or estimated)."""
    n = len(frame)
    known = scope.copy()
    if callable(rule.verdict):
        known &= np.asarray(rule.verdict(columns), dtype=bool)
    elif rule.verdict is not None:
        known &= pd.Series(columns[rule.verdict]).notna().to_numpy()
    else:
        for need in rule.needs:
            known &= ~_missing(frame, need)
    estimated = known & (pd.Series(columns[rule.estimated]).fillna(False).to_numpy(dtype=bool)
                         if rule.estimated is not None else False)
    not_evaluated = scope & ~known
    missing, explained = {}, np.zeros(n, dtype=bool)
    for need in rule.needs:
        lacking = not_evaluated & _missing(frame, need)
        explained |= lacking
        if lacking.any():
            missing[need if isinstance(need, str) else " or ".join(need)] = int(lacking.sum())
    if rule.why is not None:
        reasons = pd.Series(columns[rule.why]).to_numpy(dtype=object)
        told = not_evaluated & ~explained & pd.notna(reasons)
        for reason, count in zip(*np.unique(reasons[told].astype(str), return_counts=True)):
            missing[str(reason)] = int(count)
        explained |= told
    unusable = int((not_evaluated & ~explained).sum())
    if unusable:  # every input there, but a value the rule cannot use (revenue ≤ 0 …)
        missing[UNUSABLE] = unusable
    row = {"rule": rule.name, "firms": n, "evaluated": int((known & ~estimated).sum()), "estimated": int(estimated.sum()),
           "not_evaluated": int(not_evaluated.sum()), "not_applicable": int((~scope).sum()), "missing_inputs": missing}
    return row, known


def switched_off_risks(run: EngineRun) -> list[dict[str, Any]]:
    """The risk levels left null because their engine did not run, and the tables it
    lacked (the manifest's ``risks_switched_off``)."""
    levels = list(risk_level_columns())
    out = []
    for name, missing in run.switched_off.items():
        for column in ENGINES[name].outputs:
            if column in levels:
                out.append({"risk": column, "missing_tables": [m for m in missing if m in _input_table_names()]})
    return sorted(out, key=lambda r: levels.index(r["risk"]))


@lru_cache(maxsize=None)
def _input_table_names() -> tuple[str, ...]:
    return tuple(input_tables())


# --- The built-in engines (SPEC §3) ---------------------------------------------------

def _run_size_class(ctx: EngineContext) -> EngineOutput:
    classes = size_class(ctx.frame, ctx.policy.size_class.table)
    return EngineOutput(pd.DataFrame({"size_class": classes}, index=ctx.frame.index, copy=False),
                        pd.DataFrame(index=ctx.frame.index))


def _size_known(columns: Mapping[str, Any]) -> np.ndarray:
    return (pd.Series(columns["size_class"]) != "unknown").to_numpy(dtype=bool)


def _list_checked(code: str) -> Callable[[Mapping[str, Any]], np.ndarray]:
    """A verdict for a yes/no list criterion (V2–V4): judged for a firm unless distress left
    it unchecked — wherever the province's data gives the list at all
    (:func:`zjfin.risks.distress.flags_given_province`), so a firm's verdict is its own."""
    def judged(columns: Mapping[str, Any]) -> np.ndarray:
        # A few code lists ("V2;V5") repeat over every firm: each looked at once, spread back.
        codes, at = distinct(columns["viability_unchecked"])
        named = np.array([code in listed.split(";") for listed in codes.to_pylist()] + [False])
        return ~named[at.fill_null(len(codes)).to_numpy(zero_copy_only=False)]
    return judged


def _run_distress(ctx: EngineContext) -> EngineOutput:
    from zjfin.risks.distress import distress

    return distress(ctx.frame, ctx.policy, province=ctx.province.get("distress"))


def _run_bond_maturities(ctx: EngineContext) -> EngineOutput:
    from zjfin.risks.bonds import bond_maturities, effective_maturity

    bonds = ctx.tables["bonds"]
    per_firm = bond_maturities(bonds, ctx.frame, ctx.as_of, ctx.policy)
    # One row per bond with the maturity the engine used (the maturity-wall plot reads it).
    kept = [c for c in ("bond_id", "issuer_id", "issuer_idx", "amount_outstanding", "maturity_date", "put_date", "status")
            if c in bonds.columns]
    per_bond = bonds[kept].assign(effective_maturity=effective_maturity(bonds, ctx.as_of))
    return EngineOutput(per_firm, pd.DataFrame(index=ctx.frame.index), {"bonds": per_bond})


def _run_funding(ctx: EngineContext) -> EngineOutput:
    from zjfin.risks.bonds import short_term_funding

    maturities = ctx.inputs.get("bond_maturities")
    extra = maturities.columns["bond_due_not_in_statement"].to_numpy() if maturities is not None else None
    funding = short_term_funding(ctx.frame, extra)
    return EngineOutput(funding, pd.DataFrame(index=ctx.frame.index))


def _run_bonds(ctx: EngineContext) -> EngineOutput:
    from zjfin.risks.bonds import bond_risk

    return bond_risk(ctx.tables["bonds"], ctx.frame, ctx.inputs["funding"].columns,
                     ctx.inputs["bond_maturities"].columns, ctx.policy)


def _run_liquidity(ctx: EngineContext) -> EngineOutput:
    from zjfin.risks.liquidity import liquidity_risk

    return liquidity_risk(ctx.tables["loans"], ctx.frame, ctx.inputs["funding"].columns, ctx.policy)


def _run_pledges(ctx: EngineContext) -> EngineOutput:
    from zjfin.risks.pledges import pledge_contracts, pledge_risk

    # Without prices the ratios, the controlling-holder rule and attribution still hold.
    contracts = pledge_contracts(ctx.tables["pledges"], ctx.tables.get("prices"), ctx.tables["firms"], ctx.as_of,
                                 ctx.policy)
    return pledge_risk(contracts, ctx.frame, ctx.policy)._replace(tables={"pledges": contracts})


def _ratio_judged(columns: Mapping[str, Any]) -> np.ndarray:
    # A firm with no pledge in force has nothing to judge; one with pledges needs its total shares.
    counts = pd.Series(columns["pledge_in_force_count"]).to_numpy(dtype=float)
    return pd.Series(columns["pledge_ratio"]).notna().to_numpy() | ~(counts > 0)


def _run_mujun(ctx: EngineContext) -> EngineOutput:
    from zjfin.risks.mujun import mujun

    return mujun(ctx.frame, ctx.policy, province=ctx.province.get("mujun"))


def _industrial(frame: pd.DataFrame, policy: Policy) -> np.ndarray:
    section = frame["industry_code"].str[:1] if "industry_code" in frame.columns else pd.Series("", index=frame.index)
    return section.isin(list(policy.mujun.industrial_sections)).to_numpy(dtype=bool)


def _need_decided(columns: Mapping[str, Any]) -> np.ndarray:
    # A day sum ≤ 0 (no positive turnover) is a finding: nothing to finance.
    days = pd.Series(columns["turnover_days"]).to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        return pd.Series(columns["working_capital_need"]).notna().to_numpy() | (days <= 0)


# The balances that turn over (SPEC §3.8): without any of them there is no cycle to finance.
_BALANCES = ("inventory", "accounts_receivable", "prepayments", "accounts_payable", "advances_from_customers")


def _run_working_capital(ctx: EngineContext) -> EngineOutput:
    from zjfin.risks.working_capital import working_capital

    return working_capital(ctx.frame, ctx.policy, province=ctx.province.get("working_capital"))


def _run_model(ctx: EngineContext) -> EngineOutput:
    from zjfin._errors import ParameterError
    from zjfin.model.features import firm_features

    features = firm_features(ctx.frame)
    missing = [name for name in ctx.model.feature_names_ if name not in features.columns]
    if missing:
        raise ParameterError("model", "a model fitted on zjfin.model.features columns (these are not among them)", missing)
    probability = ctx.model.predict_proba(features[ctx.model.feature_names_])[:, 1]
    return EngineOutput(pd.DataFrame({"pd_12m": probability}, index=ctx.frame.index), pd.DataFrame(index=ctx.frame.index))


def _systemic_done(columns: Mapping[str, Any]) -> np.ndarray:
    # Firms not chosen for systemic impact count as evaluated: the rule does not ask for them.
    status = pd.Series(columns["systemic_status"])
    return (status.isna() | (status == "computed")).to_numpy(dtype=bool)


def _run_guarantee_network(ctx: EngineContext) -> EngineOutput:
    from zjfin.risks.network import distressed_firms, guarantee_graph, guarantee_network

    graph = guarantee_graph(ctx.tables["guarantees"], ctx.frame["firm_id"], ctx.as_of)
    levels = {name: ctx.column(name) for name in ctx.policy.network.seed_risks if ctx.has(name)}
    seeds = distressed_firms(levels, ctx.policy) if levels else np.zeros(len(ctx.frame), dtype=bool)
    output, circles = guarantee_network(graph, ctx.frame, seeds, ctx.policy, n_jobs=ctx.n_jobs)
    return output._replace(tables={"circles": circles, "graph": graph})


def _reduction(module: str, shares: str, reduce: str) -> Reduction:
    """A risk module's reduction, its module imported when first used (as the run functions do)."""
    import importlib

    def load(name: str) -> Callable[..., Any]:
        return lambda *args: getattr(importlib.import_module(f"zjfin.risks.{module}"), name)(*args)

    return Reduction(load(shares), load(reduce))


_STATEMENT = ("revenue", "total_assets", "total_liabilities")
for _engine in (
    Engine("size_class", _run_size_class, reads=("industry_code", "employees", "revenue", "total_assets"),
           needs=("employees", "revenue", "total_assets"), verdict=_size_known, policy=("size_class",)),
    Engine("distress", _run_distress,
           reads=(*_STATEMENT, "equity", "current_assets", "current_liabilities", "retained_earnings", "ebit",
                  "operating_profit", "interest_expense", "depreciation_amortization", "cost_of_sales", "net_profit",
                  "government_subsidies", "government_subsidies_prev", "government_subsidies_prev2", "revenue_prev",
                  "total_liabilities_prev", "net_profit_prev", "net_profit_prev2",
                  "backward_capacity", "dishonest_debtor", "major_violation"),
           needs=("cost_of_sales", ("ebit", "operating_profit"), "revenue_prev", "net_profit", "net_profit_prev",
                  "net_profit_prev2", "total_liabilities_prev"),
           verdict="viable", policy=("distress", "zombie", "viability"),
           reduction=_reduction("distress", "flags_given_shares", "flags_given_province"),
           rules=(Rule("Z1", ("current_assets", "current_liabilities", "retained_earnings", ("ebit", "operating_profit")),
                       verdict="z2_score"),
                  Rule("V1", ("net_profit", "net_profit_prev", "net_profit_prev2", "total_liabilities_prev"), verdict="zombie"),
                  *(Rule(code, (flag,), verdict=_list_checked(code)) for code, flag in
                    (("V2", "backward_capacity"), ("V3", "dishonest_debtor"), ("V4", "major_violation"))),
                  Rule("V5", ("cost_of_sales",)), Rule("V6", (("ebit", "operating_profit"),)),
                  Rule("V7", ("revenue_prev",), verdict="revenue_drop"))),
    Engine("bond_maturities", _run_bond_maturities, tables=("bonds",),
           reads=("period_end", "current_portion_long_term_debt"), policy=("bonds",)),
    Engine("funding", _run_funding, uses=("bond_maturities",),
           reads=("short_term_debt", "notes_payable", "current_portion_long_term_debt", "cash", "restricted_cash"),
           needs=(("short_term_debt", "notes_payable", "current_portion_long_term_debt"),), verdict="st_debt"),
    Engine("bonds", _run_bonds, tables=("bonds",), depends=("bond_maturities", "funding"),
           reads=("operating_cash_flow",), policy=("bonds",)),
    Engine("liquidity", _run_liquidity, tables=("loans",), depends=("funding",),
           reads=("operating_cash_flow",), policy=("liquidity",),
           rules=(Rule("L5", ("operating_cash_flow", "cash", ("short_term_debt", "notes_payable",
                                                               "current_portion_long_term_debt"))),)),
    Engine("pledges", _run_pledges, tables=("pledges",), reads=("firm_id", "total_shares"),
           policy=("pledges",), partitioned=False,
           rules=(Rule("P5", ("total_shares",), verdict=_ratio_judged),
                  Rule("P1–P4", verdict=lambda c: pd.Series(c["pledge_price_gap"]).isna().to_numpy(), why="pledge_price_gap"))),
    Engine("mujun", _run_mujun,
           reads=("region_code", "industry_code", "land_mu", "energy_tce", "emissions_t", "employees", "taxes_paid",
                  "value_added", "rd_expense", "revenue"),
           needs=("land_mu", ("taxes_paid", "value_added", "rd_expense")), verdict="mujun_score", applies=_industrial,
           policy=("mujun",), reduction=_reduction("mujun", "mujun_shares", "mujun_province")),
    Engine("working_capital", _run_working_capital,
           reads=("revenue", "revenue_prev", "cost_of_sales", "operating_profit", "cash", "restricted_cash",
                  "short_term_debt", "financing_demand", "industry_code", *_BALANCES, *(f"{b}_prev" for b in _BALANCES)),
           needs=("revenue", "cost_of_sales", "operating_profit", "cash", _BALANCES), verdict=_need_decided,
           estimated="working_capital_estimated",
           policy=("working_capital",),
           reduction=_reduction("working_capital", "working_capital_shares", "working_capital_province")),
    Engine("model", _run_model, reads=(), verdict="pd_12m", needs_model=True),
    Engine("guarantee_network", _run_guarantee_network, tables=("guarantees",), uses=("bonds", "liquidity", "pledges"),
           reads=("firm_id", "equity", "total_assets"), policy=("network",), scope="province",
           rules=(Rule("systemic", verdict=_systemic_done, why="systemic_status"),)),
):
    register(_engine)
del _engine
#: The engines zjfin registers itself (their ``reads`` and ``tables`` are complete, which a
#: test checks; an engine registered later is handed every column and table in partitions).
BUILT_IN = frozenset(ENGINES)
