"""``simulate``: a household, a market and a strategy in; a :class:`Result` out (pandas edges)."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import inspect
import json
import math
import os
import pickle
import re
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType

import numba
import numpy as np
import pandas as pd
from numba import njit

from taxsim.dates import long_term_from, to_datetime_index, to_day, to_timestamp, year_of
from taxsim.engine import enums as sim
from taxsim.engine.kernel import never_idle, never_idle_nb, refresh_holdings_nb, simulate_days
from taxsim.ledger import enums as ledger_enums
from taxsim.ledger.facade import Ledger
from taxsim.ledger.household import Household, TaxProfile, TaxRates
from taxsim.ledger.lots import acquire_nb, check_event_day_nb, find_slot_nb
from taxsim.market import Market
from taxsim.metrics.after_tax import END_ONLY_ATTR


class SimulationError(ValueError):
    """A run that cannot proceed; the message names the day, account, asset or setting."""


@dataclass(frozen=True)
class Strategy:
    """A strategy: a decide function plus its parameters.

    ``decide(day_index, day, prices, holdings, cash, targets, state, params, orders) -> int``
    writes orders (rows of ``account, asset, signed shares, lot method``) into ``orders`` and
    returns how many it wrote; see ``strategies/README.md``. Compile it with ``numba.njit``
    for speed; a plain Python function runs through the kernel's pure-Python path.
    """

    name: str
    decide: Callable
    params: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lot_method: str = "fifo"
    """The lot method of the engine's sales for a tax paid from the portfolio (and the one named
    in the conventions); the strategy's own orders carry theirs."""
    max_orders: int = 256
    description: str = ""
    invests_flows: bool = False
    """True: contributions stay in cash for the strategy to invest, and withdrawals and taxes
    paid from the portfolio leave cash negative for the strategy to raise the same day (a
    harvester must not buy into, or sell a loss inside, an open wash-sale window); whatever it
    leaves unraised the engine sells pro rata. False: the engine does both itself (see
    ``raises_cash``)."""
    raises_cash: bool = False
    """True: withdrawals and taxes paid from the portfolio leave cash negative for the strategy
    to raise the same day, as with ``invests_flows``, while the engine still invests
    contributions at the account's targets; whatever it leaves unraised the engine sells pro
    rata. ``invests_flows`` implies it."""
    twin: Strategy | None = None
    """The non-managed twin: same targets and schedule, FIFO, no harvesting, no tax awareness
    (None: this strategy has no tax management and is its own twin)."""
    idle: Callable | None = None
    """Optional ``idle(day_index, day, prices, holdings, cash, targets, state, params, orders)
    -> bool``: True on a day when ``decide`` would write no orders and change nothing, so the
    day loop skips the call. Jitted like ``decide``; it must not allocate or call jitted
    functions that take arrays, so that numba prunes its reference counts: calling ``decide``
    costs an atomic reference-count pair per array argument (about 0.1 µs a day), the test
    itself a few nanoseconds. None: ``decide`` is called every day."""
    withdrawal_lot_method: str = "tax_optimal"
    """Lot method of the engine's sales for a withdrawal (and of what a strategy that raises its
    own cash left short of one). Tax-aware for every strategy (the spec: "withdrawals choose
    lots tax-aware"); :meth:`non_managed` sets it to "fifo" for the non-managed twin. Which
    accounts and assets are sold does not depend on it (the account's holdings, pro rata), only
    the lots within each sale."""

    uses_targets: bool = True
    """False for a strategy that holds its own target (asset location's household mix, a
    direct index's weights): :func:`simulate` then refuses per-account ``targets`` with a
    weight above zero instead of ignoring them (pass ``{}``)."""

    def non_managed(self) -> Strategy:
        """The strategy a tax-alpha comparison runs against: ``twin`` (or this one, when it has
        no tax management), with FIFO withdrawals (no tax awareness)."""
        twin = self.twin if self.twin is not None else self
        if twin.withdrawal_lot_method == "fifo":
            return twin
        return dataclasses.replace(twin, withdrawal_lot_method="fifo")


_compiled_kernels: dict = {}
_kernel_lock = threading.Lock()
_DECIDE_PARAMETER = "flow_amount, decide, idle, params,"


def _strategy_kernel_source(module_name: str, attribute: str,
                            idle_location: tuple[str, str] | None = None) -> str:
    """kernel.py's source with ``decide`` (and ``idle``) bound to one strategy's functions as
    globals (``idle_location``: module and name of the idle test; None: ``never_idle``).

    numba cannot cache a function that takes (or passes on) a dispatcher as a value, but it
    caches calls to a global jitted function; so the loop is re-emitted with ``decide`` a
    global and compiled with ``cache=True``.
    """
    source = Path(inspect.getfile(simulate_days)).read_text()
    if source.count(_DECIDE_PARAMETER) != 1:
        raise RuntimeError("taxsim.engine.kernel: the simulate_days signature changed")
    source = source.replace(_DECIDE_PARAMETER, "flow_amount, params,")
    idle_import = "idle = never_idle_nb\n"
    if idle_location is not None:
        idle_import = f"from {idle_location[0]} import {idle_location[1]} as idle  # noqa: E402\n"
    return (
        f"# Generated by taxsim.engine.run from taxsim/engine/kernel.py for {module_name}."
        f"{attribute}\n{source}\n\nfrom {module_name} import {attribute} as decide  # noqa: E402\n"
        f"{idle_import}"
        "\nsimulate_days_for_strategy = njit(cache=True, nogil=True)(simulate_days)\n"
    )


def _kernel_parameters() -> list[str]:
    return list(inspect.signature(simulate_days).parameters)


def _source_fingerprint(module_name: str) -> str:
    """Hash of the loop's sources (dates, engine, ledger) and the strategy's package."""
    digest = hashlib.sha256(numba.__version__.encode())
    package = Path(__file__).resolve().parents[1]  # taxsim: the loop's own dependencies
    paths = [package / "dates.py", *sorted((package / "engine").glob("*.py")),
             *sorted((package / "ledger").glob("*.py"))]
    module_file = getattr(sys.modules[module_name], "__file__", None)
    if module_file:  # the strategy's package (its helpers may live beside it)
        paths += sorted(Path(module_file).resolve().parent.rglob("*.py"))
    for path in paths:
        digest.update(str(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def kernel_cache_dir() -> Path:
    """Folder of the generated per-strategy kernels (``TAXSIM_KERNEL_CACHE`` overrides)."""
    configured = os.environ.get("TAXSIM_KERNEL_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "taxsim" / "kernels"


def _module_attribute(decide) -> tuple[str, str] | None:
    """(module, name) under which ``decide`` is importable, or None (e.g. defined in a notebook)."""
    module_name = getattr(decide.py_func, "__module__", None)
    module = sys.modules.get(module_name or "")
    if module is None or module_name == "__main__" or not getattr(module, "__file__", None):
        return None
    for attribute, value in vars(module).items():
        if value is decide:
            return module_name, attribute
    return None


def _cached_kernel(decide, idle=None) -> Callable | None:
    """The day loop for ``decide`` (and ``idle``) from numba's on-disk cache (compiled once per
    source change).

    Writes the generated module (see ``_strategy_kernel_source``) to ``kernel_cache_dir()``
    under a name that carries a hash of the engine, ledger and strategy sources. Returns None
    where ``decide`` or ``idle`` is not importable by name (a function defined in a notebook).
    """
    location = _module_attribute(decide)
    idle_location = None if idle is None else _module_attribute(idle)
    if location is None or (idle is not None and idle_location is None):
        return None
    module_name, attribute = location
    parameters = _kernel_parameters()
    source = _strategy_kernel_source(module_name, attribute, idle_location)
    fingerprint = _source_fingerprint(module_name)
    idle_name = "never_idle" if idle_location is None else "_".join(idle_location)
    if idle_location is not None and idle_location[0] != module_name:
        fingerprint += _source_fingerprint(idle_location[0])
    prefix = re.sub(r"\W", "_", f"kernel_{module_name}_{attribute}_{idle_name}_")
    stem = prefix + fingerprint
    folder = kernel_cache_dir()
    path = folder / f"{stem}.py"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != source:
            for stale in folder.glob(f"{prefix}*.py"):  # older sources of this strategy
                if stale != path:  # another process may be loading this one
                    stale.unlink(missing_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(source)
            temporary.replace(path)
    except OSError:
        return None
    spec = importlib.util.spec_from_file_location(stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[stem] = module  # numba's cache finds the module by name when it loads
    spec.loader.exec_module(module)
    wrapper = module.simulate_days_for_strategy
    index = parameters.index("decide")
    if parameters[index + 1] != "idle":
        raise RuntimeError("taxsim.engine.kernel: idle must follow decide in simulate_days")

    def kernel(*arguments):
        return wrapper(*arguments[:index], *arguments[index + 2:])

    return kernel


def _kernel_for(decide, idle=None) -> Callable:
    """The day loop compiled for one decide function and idle test (or the plain loop for
    Python ones).

    Importable jitted decide functions get a cached compile (about 20 s the first time, then
    a fraction of a second per process); others are compiled once per process. The loop
    releases the GIL (``nogil``), so threads run simulations in parallel.
    """
    if not hasattr(decide, "py_func"):
        return simulate_days
    with _kernel_lock:  # sweep threads share one compile
        if (decide, idle) not in _compiled_kernels:
            _compiled_kernels[decide, idle] = _cached_kernel(decide, idle) or njit(nogil=True)(
                simulate_days)
    return _compiled_kernels[decide, idle]


def _idle_argument(strategy: Strategy):
    """The ``idle`` argument of the day loop: the strategy's test (its plain function when
    ``decide`` runs as Python) or ``never_idle``."""
    jitted = hasattr(strategy.decide, "py_func")
    if strategy.idle is None:
        return never_idle_nb if jitted else never_idle
    if jitted and not hasattr(strategy.idle, "py_func"):
        raise SimulationError(f"{strategy.name}: idle must be jitted like decide (numba.njit)")
    return strategy.idle if jitted else getattr(strategy.idle, "py_func", strategy.idle)


def _target_schedule(targets, market: Market, household: Household):
    """(start indices, weights (rows, accounts, assets)) from a mapping or a dated mapping."""
    names = household.account_names
    first_value = next(iter(targets.values())) if targets else None
    dated = isinstance(first_value, Mapping) and all(
        isinstance(v, Mapping) for v in first_value.values()
    )
    if dated:
        schedule = sorted(targets.items(), key=lambda item: pd.Timestamp(item[0]))
    else:
        schedule = [(None, targets)]  # from the first day
    starts, rows = [], []
    for date, by_account in schedule:
        weights = np.zeros((len(names), market.n_assets))
        for account, by_asset in by_account.items():
            if account not in names:
                raise SimulationError(f"targets: unknown account {account!r}; have {list(names)}")
            for ticker, weight in by_asset.items():
                if ticker not in market.tickers:
                    raise SimulationError(f"targets[{account!r}]: unknown asset {ticker!r}")
                if not (np.isfinite(weight) and weight >= 0):
                    raise SimulationError(
                        f"targets[{account!r}][{ticker!r}]: weight must be >= 0, got {weight}"
                    )
                weights[names.index(account), market.tickers.index(ticker)] = weight
            total = weights[names.index(account)].sum()
            if total > 1.0 + 1e-9:
                raise SimulationError(f"targets[{account!r}]: weights sum to {total:.6f} > 1")
        index = 0 if date is None else int(np.searchsorted(market.dates, to_day(date)))
        starts.append(min(index, market.n_dates - 1))
        rows.append(weights)
    return np.array(starts, np.int64), np.ascontiguousarray(np.stack(rows))


def _unapplied_market_groups(market: Market, household: Household) -> str:
    """A note (and a warning) when the market's metadata puts tickers in one identity group
    that the household's mapping keeps apart: wash sales between them are then not checked.

    "Substantially identical" (IRC §1091(a)) is the household's call
    (``Household.identity_groups``; default: each ticker its own group); the market's groups
    (``taxsim.market.metadata``: funds on the same index) are a conservative suggestion.
    Returns "" when nothing is left unapplied.
    """
    household_group = dict(zip(market.tickers, household.group_codes(tuple(market.tickers)),
                               strict=True))
    by_market_group: dict[str, list[str]] = {}
    for ticker, group in zip(market.tickers, market.identity_group, strict=True):
        by_market_group.setdefault(str(group), []).append(ticker)
    apart = []
    for group, tickers in sorted(by_market_group.items()):
        if len({household_group[t] for t in tickers}) > 1:
            apart.append(f"{'/'.join(tickers)} ({group!r})")
    if not apart:
        return ""
    note = ("household mapping; not applied from the market's metadata: "
            + ", ".join(apart) + " (wash sales between them are not checked)")
    warnings.warn(f"simulate: identity groups: {note}; set Household(identity_groups=...) to "
                  "treat them as substantially identical", stacklevel=3)
    return note


_PLAIN = (type(None), bool, int, float, str, bytes)


def _canonical(value):
    """A picklable, order-preserving stand-in for a run argument (for :class:`TwinCache`):
    mappings (frozen ones too) as item tuples, dataclasses by class and fields, arrays and
    frames by content."""
    kind = type(value)
    if kind in _PLAIN:  # exact types first: this runs for every field of every argument
        return value
    if kind is dict or kind is MappingProxyType:
        return ("mapping", tuple((_canonical(k), _canonical(v)) for k, v in value.items()))
    if kind is list or kind is tuple:
        return ("sequence", tuple(_canonical(item) for item in value))
    if kind is np.ndarray:
        return ("array", value.dtype.str, value.shape, value.tobytes())
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None:
        return (kind.__module__, kind.__qualname__,
                tuple((name, _canonical(getattr(value, name))) for name in fields))
    if isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, Mapping):
        return ("mapping", tuple((_canonical(k), _canonical(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ("sequence", tuple(_canonical(item) for item in value))
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return ("frame", pickle.dumps(value, protocol=5))
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"TwinCache: cannot key a {kind.__name__}")


class TwinCache:
    """Twin runs shared between the scenarios of a sweep (``simulate(..., twin_cache=...)``).

    Scenarios that differ only in what the managed strategy does (a harvest threshold, say)
    have the same non-managed twin: it is simulated once and its :class:`Result` reused. A
    twin is looked up by everything that defines its run: the market (the same object), the
    household, targets, flows, legacy lots, tax profile and conventions, costs and fees, and
    the twin strategy's decide function, parameters, lot method and order limit. Holds the
    ``max_entries`` most recently used runs; thread-safe. Reused results are shared objects:
    read them, do not change them.
    """

    def __init__(self, max_entries: int = 8):
        self.max_entries = max_entries
        self._runs: OrderedDict = OrderedDict()
        self._inputs: OrderedDict = OrderedDict()  # validated run inputs (see inputs)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def arguments_digest(arguments: dict) -> bytes:
        """Digest of the run arguments (the market by identity, the rest by content, in a
        picklable canonical form); raises TypeError or PicklingError for exotic inputs.
        Computed once for a run and its twins: it keys their inputs and, with each twin's
        strategy, their results."""
        market = arguments["market"]
        canonical = [(name, _canonical(value)) for name, value in sorted(arguments.items())
                     if name != "market"]
        return hashlib.sha256(pickle.dumps(
            (id(market), market.tickers, market.n_dates, canonical), protocol=5)).digest()

    @staticmethod
    def key(strategy: Strategy, taxes: bool, arguments: dict,
            arguments_digest: bytes | None = None) -> bytes:
        """Digest of a run's definition (raises TypeError/PicklingError for exotic inputs)."""
        if arguments_digest is None:
            arguments_digest = TwinCache.arguments_digest(arguments)
        definition = (
            getattr(strategy.decide, "__module__", None),
            getattr(strategy.decide, "__qualname__", None), id(strategy.decide), id(strategy.idle),
            np.asarray(strategy.params, np.float64).tobytes(), strategy.lot_method,
            strategy.withdrawal_lot_method, strategy.max_orders, strategy.invests_flows,
            strategy.raises_cash, strategy.name, bool(taxes), arguments_digest,
        )
        return hashlib.sha256(pickle.dumps(definition, protocol=5)).digest()

    def inputs(self, arguments: dict, arguments_digest: bytes | None) -> _RunInputs | None:
        """The validated inputs of runs with these arguments (any strategy): from the cache,
        or built and remembered; None when the arguments cannot be keyed."""
        if arguments_digest is None:
            return None
        with self._lock:
            entry = self._inputs.get(arguments_digest)
            if entry is not None:
                self._inputs.move_to_end(arguments_digest)
                return entry[0]
        market = arguments["market"]
        prepared = _prepare(market, arguments["household"], arguments["targets"],
                            arguments["contributions"], arguments["flows"],
                            arguments["tax_payment"], arguments["tax_account"],
                            arguments["initial_lots"])
        with self._lock:
            # the market's id is in the digest: kept alive with the entry
            self._inputs[arguments_digest] = (prepared, market)
            while len(self._inputs) > self.max_entries:
                self._inputs.popitem(last=False)
        return prepared

    def run(self, strategy: Strategy, taxes: bool, arguments: dict,
            arguments_digest: bytes | None = None,
            prepared: _RunInputs | None = None) -> Result:
        """The twin's result: from the cache, or simulated and remembered
        (``arguments_digest``: :meth:`arguments_digest` of ``arguments``, if known;
        ``prepared``: their validated inputs, if built)."""
        try:
            key = self.key(strategy, taxes, arguments, arguments_digest)
        except (TypeError, AttributeError, pickle.PicklingError):
            return simulate(strategy=strategy, taxes=taxes, **arguments,
                            _prepared=prepared)  # not cacheable
        with self._lock:
            entry = self._runs.get(key)
            if entry is not None:
                self._runs.move_to_end(key)
                self.hits += 1
                return entry[0]
        result = simulate(strategy=strategy, taxes=taxes, **arguments, _prepared=prepared)
        with self._lock:
            self.misses += 1
            # the decide function and market are kept alive with the result: their ids are
            # part of the key and must not be reused by other objects
            self._runs[key] = (result, strategy.decide, strategy.idle, arguments["market"])
            while len(self._runs) > self.max_entries:
                self._runs.popitem(last=False)
        return result

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()
            self._inputs.clear()


INITIAL_LOT_COLUMNS = ("account", "ticker", "shares", "basis", "acquired")
"""Required columns of ``simulate(initial_lots=...)``; ``holding_start`` is optional."""


@dataclass(frozen=True)
class _LegacyLot:
    """One validated legacy lot (day numbers, indices, shares, dollars)."""

    acquired: int
    holding_start: int
    account: int
    asset: int
    shares: float
    basis: float


def _legacy_lots(initial_lots, market: Market, household: Household) -> list[_LegacyLot]:
    """Validate ``initial_lots`` against the market and household; lots in acquisition order.

    Every row is checked before anything is built, so a bad row changes nothing. Errors name
    the row, account, ticker and field.
    """
    if initial_lots is None:
        return []
    if not isinstance(initial_lots, pd.DataFrame):
        raise SimulationError(
            f"initial_lots must be a pandas DataFrame with columns {list(INITIAL_LOT_COLUMNS)} "
            f"(and optionally holding_start), got {type(initial_lots).__name__}"
        )
    missing = [c for c in INITIAL_LOT_COLUMNS if c not in initial_lots.columns]
    if missing:
        raise SimulationError(
            f"initial_lots: missing column(s) {missing}; needs {list(INITIAL_LOT_COLUMNS)}"
        )
    extra = sorted(set(map(str, initial_lots.columns)) - {*INITIAL_LOT_COLUMNS, "holding_start"})
    if extra:
        raise SimulationError(f"initial_lots: unknown column(s) {extra}")
    names = household.account_names
    first_day = int(market.dates[0])
    first_date = market.pandas_dates[0].date()
    lots = []
    has_holding_start = "holding_start" in initial_lots.columns
    for position, row in enumerate(initial_lots.itertuples(index=False)):
        where = f"initial_lots row {position} (account {row.account!r}, ticker {row.ticker!r})"
        if row.account not in names:
            raise SimulationError(f"{where}: unknown account {row.account!r}; the household has "
                                  f"{list(names)}")
        if row.ticker not in market.tickers:
            raise SimulationError(f"{where}: unknown ticker {row.ticker!r}; the market has "
                                  f"{list(market.tickers)}")
        try:
            shares, basis = float(row.shares), float(row.basis)
        except (TypeError, ValueError):
            raise SimulationError(f"{where}: shares and basis must be numbers, got "
                                  f"{row.shares!r} and {row.basis!r}") from None
        if not (np.isfinite(shares) and shares > 0.0):
            raise SimulationError(f"{where}: shares must be > 0, got {row.shares!r}")
        if not (np.isfinite(basis) and basis >= 0.0):
            raise SimulationError(f"{where}: basis must be >= 0 dollars, got {row.basis!r}")
        days = {}
        for column in ("acquired", "holding_start"):
            value = getattr(row, column) if column == "acquired" or has_holding_start else None
            if column == "holding_start" and (value is None or pd.isna(value)):
                days[column] = days["acquired"]
                continue
            try:
                days[column] = to_day(value)
            except (ValueError, TypeError, OverflowError):
                raise SimulationError(f"{where}: {column} is not a date: {value!r}") from None
            if year_of(days[column]) < ledger_enums.FIRST_YEAR:
                raise SimulationError(f"{where}: {column} {to_timestamp(days[column]).date()} is "
                                      f"before {ledger_enums.FIRST_YEAR}, the ledger's first year")
        acquired, holding_start = days["acquired"], days["holding_start"]
        if acquired > first_day:
            raise SimulationError(
                f"{where}: acquired {to_timestamp(acquired).date()} is after the run's first "
                f"day {first_date}; buy it in the run (contributions or flows) instead"
            )
        if holding_start > acquired:
            raise SimulationError(
                f"{where}: holding_start {to_timestamp(holding_start).date()} is after acquired "
                f"{to_timestamp(acquired).date()} (a tacked holding period starts earlier)"
            )
        asset = market.tickers.index(row.ticker)
        price = market.close[0, asset]
        if not (np.isfinite(price) and price > 0.0):
            raise SimulationError(f"{where}: no price for {row.ticker!r} on the run's first day "
                                  f"{first_date}, so the lot cannot be valued")
        lots.append(_LegacyLot(acquired, holding_start, names.index(row.account), asset,
                               shares, basis))
    return sorted(lots, key=lambda lot: lot.acquired)  # stable: ties keep the frame's order


def _open_legacy_lots(ledger: Ledger, lots: list[_LegacyLot], market: Market,
                      holdings: np.ndarray) -> float:
    """Put validated legacy lots into a fresh ledger, in acquisition order, before any event.

    Each lot is acquired on its own date with its own basis (``buy`` less the cash payment:
    the shares were paid for before the run), so holding periods (IRS Pub 550 calendar rule)
    and gains on later sales are right, and a lot acquired within 30 days before a loss sale
    in the run is a wash-sale replacement (IRC §1091). The tax chain still starts in the run's
    first year (the household's earlier tax history is not modelled). Fills ``holdings`` and
    returns the lots' market value at the first day's close (shares after any first-day
    split, dollars): the run's initial investment besides the first day's contributions.
    """
    if not lots:
        return 0.0
    for lot in lots:
        state = ledger._roomy_state()
        status = check_event_day_nb(state, lot.acquired)
        if status != ledger_enums.OK:
            raise SimulationError(
                f"legacy lot of {market.tickers[lot.asset]!r} in "
                f"{ledger.household.account_names[lot.account]!r} acquired "
                f"{to_timestamp(lot.acquired).date()}: "
                f"{ledger_enums.STATUS_MESSAGES.get(int(status), 'refused by the ledger')}"
            )
        lot_id = acquire_nb(state, lot.account, lot.asset, lot.shares, lot.basis, lot.acquired)
        if lot.holding_start != lot.acquired:  # tacked holding period (gift, inheritance, ...)
            slot = find_slot_nb(state, lot.account, lot.asset, lot_id)
            state.lot_holding_start[slot] = lot.holding_start
            state.lot_long_from[slot] = long_term_from(lot.holding_start)
    state = ledger._state
    state.counters[ledger_enums.CNT_FIRST_YEAR] = year_of(int(market.dates[0]))
    for asset in sorted({lot.asset for lot in lots}):
        refresh_holdings_nb(state, holdings, asset)
    shares_on_first_day = holdings * market.split_ratio[0]
    return float(np.nansum(shares_on_first_day * market.close[0]))


@dataclass(frozen=True)
class _RunInputs:
    """What ``simulate`` validates and builds from its arguments apart from the strategy, the
    taxes and the ledger: shared by a run and its twins (and by a sweep's scenarios that
    differ only in the strategy, through :class:`TwinCache`)."""

    names: tuple
    tax_account: str
    legacy_lots: list
    start_schedule: np.ndarray
    target_weights: np.ndarray
    flow_index: np.ndarray
    flow_account: np.ndarray
    flow_amount: np.ndarray
    qualified: np.ndarray
    interest_exempt: np.ndarray
    section_199a: np.ndarray
    collectibles_fraction: np.ndarray
    unrecaptured_1250_fraction: np.ndarray
    period: str
    unapplied_groups: str


def _prepare(market, household, targets, contributions, flows, tax_payment, tax_account,
             initial_lots) -> _RunInputs:
    """Validate and build the run's inputs other than the strategy (:class:`_RunInputs`);
    raises :class:`SimulationError` naming the bad account, ticker, date or row."""
    names = household.account_names
    if tax_payment not in ("portfolio", "outside"):
        raise SimulationError(f"tax_payment must be 'portfolio' or 'outside', got {tax_payment!r}")
    taxable = [a.name for a in household.accounts if a.kind == "taxable"]
    tax_account = tax_account or (taxable[0] if taxable else names[0])
    if tax_account not in names:
        raise SimulationError(f"tax_account: unknown account {tax_account!r}")
    legacy_lots = _legacy_lots(initial_lots, market, household)
    start_schedule, target_weights = _target_schedule(targets, market, household)

    flow_rows = []
    for account, amount in (contributions or {}).items():
        account_index = names.index(_known(account, names))
        dollars = _number(amount, f"contributions[{account!r}]")
        if not (math.isfinite(dollars) and dollars >= 0.0):
            raise SimulationError(
                f"contributions[{account!r}]: must be a finite number of dollars >= 0 (the "
                f"first day's deposit; withdrawals are negative amounts in flows), got {amount!r}"
            )
        flow_rows.append((0, account_index, dollars))
    if flows is not None:
        if not isinstance(flows, pd.DataFrame):
            raise SimulationError(f"flows must be a pandas DataFrame with columns date, account, "
                                  f"amount, got {type(flows).__name__}")
        missing = [c for c in ("date", "account", "amount") if c not in flows.columns]
        if missing:
            raise SimulationError(f"flows: missing column(s) {missing}; needs date, account, "
                                  "amount (dollars: positive contribution, negative withdrawal)")
        for position, row in enumerate(flows.itertuples(index=False)):
            try:
                day = to_day(row.date)
            except (ValueError, TypeError, OverflowError):
                raise SimulationError(f"flows row {position} (account {row.account!r}): date is "
                                      f"not a date: {row.date!r}") from None
            index = int(np.searchsorted(market.dates, day))
            if index >= market.n_dates or market.dates[index] != day:
                raise SimulationError(f"flow on {to_timestamp(day).date()}: not a trading day "
                                      f"(flows row {position}, account {row.account!r})")
            account_index = names.index(_known(row.account, names))
            amount = row.amount
            if type(amount) is not float or not math.isfinite(amount):  # a message only if bad
                where = (f"flows row {position} ({to_timestamp(day).date()}, account "
                         f"{row.account!r})")
                amount = _number(row.amount, f"{where}: amount")
                if not math.isfinite(amount):
                    raise SimulationError(f"{where}: amount must be a finite number of dollars "
                                          f"(positive contribution, negative withdrawal), got "
                                          f"{row.amount!r}")
            flow_rows.append((index, account_index, amount))
    flow_rows.sort(key=lambda item: item[0])
    flow_index = np.array([r[0] for r in flow_rows], np.int64)
    flow_account = np.array([r[1] for r in flow_rows], np.int64)
    flow_amount = np.array([r[2] for r in flow_rows], np.float64)

    qualified = np.ascontiguousarray(market.qualified_fraction, dtype=np.float64)
    # municipal bond interest is exempt from federal tax (IRC §103)
    interest_exempt = np.array([c == "municipal_bond" for c in market.tax_character], np.bool_)
    # fraction of each dividend that is a qualified REIT dividend (IRC §199A(e)(3))
    section_199a = np.ascontiguousarray(market.section_199a_fraction, dtype=np.float64)
    # fractions of each long-term capital gain distribution that are 28% collectibles gain and
    # 25% unrecaptured section 1250 gain (Form 1099-DIV boxes 2d, 2b; IRC §1(h)(4)-(6))
    collectibles_fraction = np.ascontiguousarray(market.collectibles_fraction, dtype=np.float64)
    unrecaptured_1250_fraction = np.ascontiguousarray(market.unrecaptured_1250_fraction,
                                                      dtype=np.float64)
    for array in (start_schedule, target_weights, flow_index, flow_account, flow_amount,
                  interest_exempt):
        array.flags.writeable = False  # shared between runs (the market's arrays already are)
    period = (f"{to_timestamp(market.dates[0]).date()} .. "
              f"{to_timestamp(market.dates[-1]).date()}")
    return _RunInputs(names, tax_account, legacy_lots, start_schedule, target_weights,
                      flow_index, flow_account, flow_amount, qualified, interest_exempt,
                      section_199a, collectibles_fraction, unrecaptured_1250_fraction, period,
                      _unapplied_market_groups(market, household))


def _number(value, name: str) -> float:
    """``value`` as a float, or a :class:`SimulationError` naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or isinstance(value, (str, bytes)):
        raise SimulationError(f"{name}: must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SimulationError(f"{name}: must be a number, got {value!r}") from None


def _has_weight(targets) -> bool:
    """Whether a targets mapping (per account, or dated) gives any weight other than 0."""
    if isinstance(targets, Mapping):
        return any(_has_weight(value) for value in targets.values())
    return targets != 0


def _check_settings(cost_bps, cost_per_trade, advisory_fee_bps) -> None:
    """Range checks of simulate's numeric settings (those of :class:`taxsim.config.CostsConfig`):
    finite and not negative; a bps cost below 100% (a sale must leave proceeds)."""
    bounds = (
        ("cost_bps", cost_bps, "basis points of notional", 10_000.0, False),
        ("cost_per_trade", cost_per_trade, "dollars per trade", math.inf, False),
        ("advisory_fee_bps", advisory_fee_bps, "basis points a year", 10_000.0, True),
    )
    for name, value, unit, high, inclusive in bounds:
        number = _number(value, name)
        ok = math.isfinite(number) and number >= 0.0 and (
            number <= high if inclusive else number < high)
        if not ok:
            limit = "" if math.isinf(high) else f" and {'<=' if inclusive else '<'} {high:g}"
            raise SimulationError(f"{name}: must be a finite number >= 0{limit} ({unit}), "
                                  f"got {value!r}")


def simulate(
    market: Market,
    household: Household,
    strategy: Strategy,
    targets: Mapping,
    contributions: Mapping[str, float] | None = None,
    flows: pd.DataFrame | None = None,
    tax_profile: TaxProfile | None = None,
    loss_convention: str = "standalone",
    cost_bps: float = 0.0,
    cost_per_trade: float = 0.0,
    whole_shares: bool = False,
    advisory_fee_bps: float = 0.0,
    tax_payment: str = "portfolio",
    tax_account: str | None = None,
    taxes: bool = True,
    twins: bool = False,
    daily_liquidation: bool = True,
    initial_lots: pd.DataFrame | None = None,
    twin_cache: TwinCache | None = None,
    _prepared: _RunInputs | None = None,
) -> Result:
    """Run ``strategy`` for ``household`` over ``market``.

    Parameters
    ----------
    targets : mapping
        ``{account: {ticker: weight}}`` (fractions of the account's value), or a dated
        schedule ``{date: {account: {ticker: weight}}}`` (a glide path).
    contributions : mapping of account to dollars, optional
        Cash deposited on the first day and invested at the account's targets.
    flows : DataFrame with columns date, account, amount (dollars), optional
        Later contributions (positive) and withdrawals (negative), on trading days. A
        withdrawal the account's cash does not cover sells its holdings pro rata, choosing the
        lots tax-aware (``strategy.withdrawal_lot_method``: ``tax_optimal``; FIFO for the
        non-managed twin); one larger than the account (cash plus every holding sold, after
        costs) raises :class:`SimulationError`.
    tax_payment : {"portfolio", "outside"}
        Whether the annual tax is paid from the tax account's cash (selling if needed, by the
        strategy's lot method) or from outside the portfolio.
    taxes : bool
        False runs the pre-tax twin (no tax is ever charged).
    twins : bool
        Also run the non-managed twin (``strategy.non_managed()``: same targets, schedule, flows,
        costs and taxes; FIFO, FIFO withdrawals, no harvesting, no tax awareness) and the
        pre-tax twin (this strategy with ``taxes=False``); they are in ``result.twins``.
    daily_liquidation : bool
        Record unrealized gain, accrued tax and liquidation tax every day (otherwise only on
        the last day; sweeps that only need end values save the time).
    initial_lots : DataFrame, optional
        Legacy lots held before the run, one row each: ``account``, ``ticker``, ``shares``,
        ``basis`` (total dollars, commissions included), ``acquired`` (date, on or before the
        run's first day) and optionally ``holding_start`` (date the holding period counts
        from, for a tacked holding period, e.g. a gift or a wash-sale replacement; default
        ``acquired``; not after ``acquired``). They enter the ledger on their own dates before
        the first day (no trading cost, not contributions), so their holding periods, gains
        and wash sales are right when the run sells them. Their market value at the first
        day's close (``Result.legacy_value``) is part of the initial investment: it starts the
        conservation identity, and the returns, which start from the first day's close,
        include it. The twins start from the same lots. A bad row (unknown account or ticker,
        shares <= 0, basis < 0, acquired after the first day, no first-day price) raises
        :class:`SimulationError` naming it.
    twin_cache : TwinCache, optional
        With ``twins``: reuse twin runs already simulated with the same definition (sweeps
        whose scenarios share a twin); the results are identical to fresh runs.

    Raises
    ------
    SimulationError
        Bad input, naming the setting, account, row or date: a cost or fee that is negative or
        not finite, a contribution below zero, a flow amount that is not finite, an unknown
        account. During the run (no result is returned): a withdrawal or a tax paid from the
        portfolio that the account cannot raise even by selling everything (naming the
        account, date, amount and shortfall), or an impossible strategy order (naming the
        date, order row, account, asset and what is wrong).
    """
    _check_settings(cost_bps, cost_per_trade, advisory_fee_bps)
    if not strategy.uses_targets and _has_weight(targets):
        raise SimulationError(
            f"targets: the strategy {strategy.name!r} holds its own target and would ignore "
            "these per-account weights; pass targets={}")
    if twins:
        arguments = dict(
            market=market, household=household, targets=targets, contributions=contributions,
            flows=flows, tax_profile=tax_profile, loss_convention=loss_convention,
            cost_bps=cost_bps, cost_per_trade=cost_per_trade, whole_shares=whole_shares,
            advisory_fee_bps=advisory_fee_bps, tax_payment=tax_payment, tax_account=tax_account,
            daily_liquidation=daily_liquidation, initial_lots=initial_lots,
        )
        digest = None
        if twin_cache is not None:
            try:
                digest = TwinCache.arguments_digest(arguments)
            except (TypeError, AttributeError, pickle.PicklingError):
                digest = None  # each run finds out that it cannot be cached
        prepared = None if twin_cache is None else twin_cache.inputs(arguments, digest)
        if prepared is None:
            prepared = _prepare(market, household, targets, contributions, flows, tax_payment,
                                tax_account, initial_lots)
        result = simulate(strategy=strategy, taxes=taxes, **arguments, _prepared=prepared)
        if twin_cache is None:
            result.twins["non_managed"] = simulate(
                strategy=strategy.non_managed(), taxes=taxes, **arguments, _prepared=prepared
            )
            result.twins["pre_tax"] = simulate(strategy=strategy, taxes=False, **arguments,
                                               _prepared=prepared)
        else:
            result.twins["non_managed"] = twin_cache.run(strategy.non_managed(), taxes,
                                                         arguments, digest, prepared)
            result.twins["pre_tax"] = twin_cache.run(strategy, False, arguments, digest,
                                                     prepared)
        return result
    if _prepared is None:
        _prepared = _prepare(market, household, targets, contributions, flows, tax_payment,
                             tax_account, initial_lots)
    names = _prepared.names
    tax_account = _prepared.tax_account
    for setting in ("lot_method", "withdrawal_lot_method"):
        method = getattr(strategy, setting)
        if method not in ledger_enums.LOT_METHOD_CODES or method == "specific":
            allowed = [m for m in ledger_enums.LOT_METHOD_CODES if m != "specific"]
            raise SimulationError(f"{strategy.name}: strategy.{setting} {method!r} cannot raise "
                                  f"cash; use one of {allowed}")
    legacy_lots = _prepared.legacy_lots
    # a collectible asset's shares (a grantor trust of metal): its long-term gains on sale are
    # in the 28% group (IRC §408(m), §1(h)(4)-(5))
    ledger = Ledger(household, market.tickers, tax_profile, loss_convention,
                    collectibles=market.collectible_tickers)
    start_schedule, target_weights = _prepared.start_schedule, _prepared.target_weights
    flow_index, flow_account, flow_amount = (_prepared.flow_index, _prepared.flow_account,
                                             _prepared.flow_amount)

    settings = np.zeros(sim.N_SETTINGS)
    settings[sim.SET_COST_BPS] = cost_bps
    settings[sim.SET_COST_PER_TRADE] = cost_per_trade
    settings[sim.SET_WHOLE_SHARES] = 1.0 if whole_shares else 0.0
    settings[sim.SET_ADVISORY_FEE_BPS] = advisory_fee_bps
    settings[sim.SET_TAX_PAYMENT] = (
        sim.PAY_FROM_PORTFOLIO if tax_payment == "portfolio" else sim.PAY_FROM_OUTSIDE
    )
    settings[sim.SET_TAX_ACCOUNT] = names.index(tax_account)
    settings[sim.SET_TAX_SELL_METHOD] = ledger_enums.LOT_METHOD_CODES[strategy.lot_method]
    settings[sim.SET_WITHDRAWAL_METHOD] = ledger_enums.LOT_METHOD_CODES[
        strategy.withdrawal_lot_method]
    settings[sim.SET_NO_TAX] = 0.0 if taxes else 1.0
    settings[sim.SET_DAILY_LIQUIDATION] = 1.0 if daily_liquidation else 0.0
    settings[sim.SET_STRATEGY_INVESTS_FLOWS] = 1.0 if strategy.invests_flows else 0.0
    settings[sim.SET_STRATEGY_RAISES_CASH] = (
        1.0 if strategy.invests_flows or strategy.raises_cash else 0.0)

    n_dates, n_assets = market.close.shape
    holdings = np.zeros((len(names), n_assets))
    orders = np.zeros((strategy.max_orders, sim.N_ORDER_FIELDS))
    totals = np.zeros(sim.N_TOTALS)
    # the day loop writes every cell of the daily outputs; trades only up to trade_count
    account_values = np.empty((n_dates, len(names)))
    account_cash = np.empty((n_dates, len(names)))
    record = np.empty((n_dates, sim.N_RECORD))
    trades = np.empty(max(1024, 4 * len(names) * n_assets + strategy.max_orders), sim.trade_dtype)
    trade_count = np.zeros(1, np.int64)
    legacy_value = _open_legacy_lots(ledger, legacy_lots, market, holdings)
    # the first day's market gain is measured from the legacy lots' value, not from zero
    totals[sim.TOT_PREVIOUS_VALUE] = legacy_value
    totals[sim.TOT_ERROR_ORDER] = -1.0
    kernel = _kernel_for(strategy.decide, strategy.idle)
    idle = _idle_argument(strategy)
    params = np.array(strategy.params, dtype=np.float64)  # a strategy may keep state in it
    qualified, interest_exempt = _prepared.qualified, _prepared.interest_exempt
    section_199a = _prepared.section_199a
    collectibles_fraction = _prepared.collectibles_fraction
    unrecaptured_1250_fraction = _prepared.unrecaptured_1250_fraction
    day_index = 0
    while day_index < n_dates:
        day_index, status, ledger_status = kernel(
            day_index, market.dates, market.close, market.dividend, market.st_capital_gain,
            market.lt_capital_gain, market.return_of_capital, market.interest,
            market.split_ratio, market.event_day, qualified, interest_exempt,
            market.exempt_interest_daily, section_199a, collectibles_fraction,
            unrecaptured_1250_fraction, ledger._state,
            holdings, start_schedule,
            target_weights, flow_index, flow_account, flow_amount, strategy.decide, idle,
            params, orders, settings, totals, account_values, account_cash,
            record, trades, trade_count,
        )
        if status == sim.SIM_NEED_ROOM:
            grown = np.zeros(2 * trades.shape[0], sim.trade_dtype)
            grown[: trades.shape[0]] = trades
            trades = grown
        elif status == sim.SIM_TOO_MANY_ORDERS:
            date = market.pandas_dates[min(day_index, n_dates - 1)].date()
            raise SimulationError(
                f"{strategy.name} on {date}: the strategy wrote more orders than "
                f"Strategy.max_orders={strategy.max_orders}; raise max_orders"
            )
        elif status != sim.SIM_OK:
            raise SimulationError(_run_error(
                strategy, market, names, min(day_index, n_dates - 1), status, ledger_status,
                totals, orders, holdings, settings))
    conventions = {
        "strategy": strategy.name,
        "lot_method": strategy.lot_method,
        "withdrawal_lot_method": strategy.withdrawal_lot_method,
        "tax_profile": ledger.tax_profile.name,
        "loss_convention": loss_convention if taxes else "none (pre-tax)",
        "tax_payment": sim.TAX_PAYMENT_NAMES[int(settings[sim.SET_TAX_PAYMENT])]
        + f" ({tax_account})",
        "taxes": "charged" if taxes else "none (pre-tax twin)",
        "costs": f"{cost_bps:g} bps + ${cost_per_trade:g} per trade"
        + (", whole shares" if whole_shares else ""),
        "advisory_fee": f"{advisory_fee_bps:g} bps a year",
        "liquidation": "values not liquidated; liquidation_value subtracts accrued and "
        "liquidation tax" + (" daily" if daily_liquidation else " on the last day only"),
        "period": _prepared.period,
        "data_source": market.source,
        "distributions": "ex-date stands in for pay date",
    }
    sale_methods = sale_lot_methods(trades[: trade_count[0]], strategy.lot_method)
    if sale_methods:
        conventions["sale_lot_methods"] = sale_methods
    unapplied = _prepared.unapplied_groups
    if unapplied:
        conventions["identity_groups"] = unapplied
    if legacy_lots:
        conventions["legacy_lots"] = (
            f"{len(legacy_lots)} lots held before the run, worth ${legacy_value:,.2f} at the "
            "first day's close: part of the initial investment, not a contribution"
        )
    return Result(
        market=market, household=household, ledger=ledger, conventions=conventions,
        account_values=account_values, account_cash=account_cash, record=record,
        totals=totals.copy(), trades=trades[: trade_count[0]].copy(), params=params,
        legacy_value=legacy_value, daily_liquidation=daily_liquidation,
    )


def sale_lot_methods(trades: np.ndarray, lot_method: str) -> str:
    """The lot methods a run's sales used, when any is not the strategy's ``lot_method``.

    A strategy may choose another method for some sales (``loss_harvest`` trims a position
    whose loss sale could be washed with ``gains_first``), and the engine's sales for
    withdrawals and taxes use ``Strategy.withdrawal_lot_method``: the chart footnote and the
    summary say so (principle 5). Returns "" when every sale used ``lot_method``, else each
    method's number of sales, the most used first, with what each other method means, e.g.
    ``"tax_optimal 412 sales, gains_first 37 sales (gains with the least tax first, then
    the smallest losses)"``.

    Parameters
    ----------
    trades : ndarray of ``taxsim.engine.enums.trade_dtype``
        The run's executed trades (sales have negative shares).
    lot_method : str
        The strategy's lot method (``Strategy.lot_method``).
    """
    sales = trades["shares"] < 0.0
    codes, counts = np.unique(trades["lot_method"][sales], return_counts=True)
    names = [ledger_enums.LOT_METHOD_NAMES[int(code)] for code in codes]
    if not names or names == [lot_method]:
        return ""
    parts = []
    for count, name in sorted(zip(counts.tolist(), names, strict=True), key=lambda pair: -pair[0]):
        part = f"{name} {count} sale" + ("s" if count != 1 else "")
        if name != lot_method:
            part += f" ({ledger_enums.LOT_METHOD_DESCRIPTIONS[name]})"
        parts.append(part)
    return ", ".join(parts)


def _run_error(strategy: Strategy, market: Market, names, day_index: int, status: int,
               ledger_status: int, totals: np.ndarray, orders: np.ndarray,
               holdings: np.ndarray, settings: np.ndarray) -> str:
    """The message of a run the day loop stopped: the strategy, date and what was refused (a
    cash shortfall's account and dollars; a strategy order's row, account, asset and shares)."""
    date = market.pandas_dates[day_index].date()
    detail = ledger_enums.STATUS_MESSAGES.get(int(ledger_status), "")
    detail = f": {detail}" if detail else ""
    if status == sim.SIM_SHORTFALL:
        account = names[int(totals[sim.TOT_ERROR_ACCOUNT])]
        amount, short = totals[sim.TOT_ERROR_AMOUNT], totals[sim.TOT_ERROR_SHORT]
        reason = int(totals[sim.TOT_ERROR_REASON])
        what = {sim.REASON_WITHDRAWAL: f"withdrawal of ${amount:,.2f}",
                sim.REASON_TAX_PAYMENT: f"tax payment of ${amount:,.2f} (tax from the "
                                        "portfolio)"}.get(reason, f"cash shortfall of "
                                                                  f"${amount:,.2f}")
        advice = {sim.REASON_WITHDRAWAL: "withdraw at most what the account holds",
                  sim.REASON_TAX_PAYMENT: "pay tax from outside (tax_payment='outside') or "
                                          "from another account (tax_account)"}.get(
            reason, "the strategy spent cash the account needed")
        return (f"{strategy.name} on {date}: {what} from account {account!r}: the account can "
                f"raise only ${amount - short:,.2f} (its cash and all of its holdings sold, "
                f"after costs), ${short:,.2f} short; nothing of it was applied ({advice})")
    row = int(totals[sim.TOT_ERROR_ORDER])
    if status in (sim.SIM_BAD_ORDER, sim.SIM_LEDGER_ERROR) and 0 <= row < orders.shape[0]:
        account_code, asset_code, shares, method_code = orders[row]
        account = (repr(names[int(account_code)]) if 0 <= account_code < len(names)
                   else f"index {account_code:g} (not one of 0..{len(names) - 1})")
        n_assets = market.n_assets
        asset = (repr(market.tickers[int(asset_code)]) if 0 <= asset_code < n_assets
                 else f"index {asset_code:g} (not one of 0..{n_assets - 1})")
        method = ledger_enums.LOT_METHOD_NAMES.get(int(method_code), None) if (
            math.isfinite(method_code) and method_code == int(method_code)) else None
        order = (f"order row {row}: account {account}, asset {asset}, shares {shares:g}, lot "
                 f"method {method or f'code {method_code:g} (unknown)'}")
        why = ""
        if 0 <= account_code < len(names) and 0 <= asset_code < n_assets and method:
            a, i = int(account_code), int(asset_code)
            price = market.close[day_index, i]
            cost_per_share = (abs(shares) * price * settings[sim.SET_COST_BPS] * 1e-4
                              + settings[sim.SET_COST_PER_TRADE]) / max(abs(shares), 1e-300)
            if method == "specific" and shares < 0:
                allowed = [m for m in ledger_enums.LOT_METHOD_CODES if m != "specific"]
                why = ("; lot method 'specific' needs lot ids, which an order row cannot carry "
                       f"(one of {allowed})")
            elif not math.isfinite(shares):
                why = "; shares are not a finite number"
            elif not math.isfinite(price):
                why = f"; {market.tickers[i]!r} has no price on {date}"
            elif shares < 0 and -shares > holdings[a, i] + 1e-9:
                why = f"; it sells {-shares:g} shares but the account holds {holdings[a, i]:g}"
            elif shares < 0 and price - cost_per_share <= 0.0:
                why = "; the sale's trading cost exceeds its proceeds"
        what = ("the ledger refused the strategy's order" if status == sim.SIM_LEDGER_ERROR
                else "the strategy wrote an impossible order")
        return f"{strategy.name} on {date}: {what} ({order}){why}{detail}"
    what = ("the ledger refused one of the engine's trades" if status == sim.SIM_LEDGER_ERROR
            else "one of the engine's trades (a withdrawal, tax or contribution) was impossible")
    return f"{strategy.name} on {date}: {what}{detail}"


def _known(account: str, names: tuple[str, ...]) -> str:
    if account not in names:
        raise SimulationError(f"unknown account {account!r}; the household has {list(names)}")
    return account


@dataclass
class Result:
    """What a run produced; pandas views and parquet output."""

    market: Market
    household: Household
    ledger: Ledger
    conventions: dict
    account_values: np.ndarray
    account_cash: np.ndarray
    record: np.ndarray
    totals: np.ndarray
    trades: np.ndarray
    params: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """The strategy's params at the end of the run (with any state it kept)."""
    twins: dict = field(default_factory=dict)
    daily_liquidation: bool = True
    """False: unrealized gain, accrued and liquidation tax were recorded on the last day only
    (``simulate(..., daily_liquidation=False)``); ``daily()`` flags its frame so that metrics
    needing them on earlier days raise instead of reading the zeros."""
    legacy_value: float = 0.0
    """Market value of the legacy lots (``simulate(initial_lots=...)``) at the first day's
    close, dollars (0 without them): money invested before the run, not a contribution."""

    @property
    def start_value(self) -> float:
        """Household value at the first day's close, dollars: the legacy lots' value plus the
        first day's contributions (less that day's costs). The return metrics start from it, so
        it is the initial investment of every after-tax return."""
        return float(self.account_values[0].sum() + self.account_cash[0].sum())

    @property
    def tax_payable(self) -> float:
        """Tax of the last closed year not yet paid at the end of the run (dollars)."""
        return float(self.totals[sim.TOT_TAX_DUE_PENDING])

    def daily(self) -> pd.DataFrame:
        """Per day (dollars): market value and cash by account, total value, the cumulative
        flows (tax paid from the portfolio and from outside, contributions, withdrawals, fees,
        costs), the day's market gain, unrealized gain of the taxable lots, accrued tax (the
        year so far, not yet charged), liquidation tax, and ``liquidation_value`` = total value
        - accrued tax - liquidation tax (what a full redemption that day would leave after
        tax, before any tax paid from outside)."""
        names = self.household.account_names
        columns: dict = {}
        for i, name in enumerate(names):
            columns[f"value_{name}"] = self.account_values[:, i]
            columns[f"cash_{name}"] = self.account_cash[:, i]
        total_value = self.account_values.sum(axis=1) + self.account_cash.sum(axis=1)
        columns["total_value"] = total_value
        for column, name in enumerate(sim.RECORD_NAMES):
            columns[name] = self.record[:, column]
        columns["liquidation_value"] = (total_value - columns["accrued_tax"]
                                        - columns["liquidation_tax"])
        # built at once (a column insert copies the frame); a new index, named "date"
        frame = self.stating_conventions(
            pd.DataFrame(columns, index=self.market.pandas_dates.rename("date")))
        if not self.daily_liquidation:  # metrics refuse figures that need the missing days
            frame.attrs[END_ONLY_ATTR] = True
        return frame

    @property
    def liquidation_value(self) -> float:
        """Value after selling everything on the last day and paying every tax owed (dollars;
        the last year's tax payable and the liquidation tax under the run's convention)."""
        last = self.record[-1]
        end_value = float(self.account_values[-1].sum() + self.account_cash[-1].sum())
        return end_value - self.tax_payable - float(last[sim.REC_LIQUIDATION_TAX])

    def trades_frame(self) -> pd.DataFrame:
        """Every executed trade (signed shares, close price, cost in dollars, reason)."""
        trades = self.trades
        return self.stating_conventions(pd.DataFrame(
            {
                "date": to_datetime_index(trades["day"]),
                "account": [self.household.account_names[i] for i in trades["account"]],
                "asset": [self.market.tickers[i] for i in trades["asset"]],
                "shares": trades["shares"],
                "price": trades["price"],
                "cost": trades["cost"],
                "lot_method": [ledger_enums.LOT_METHOD_NAMES[m] for m in trades["lot_method"]],
                "reason": [sim.REASON_NAMES[r] for r in trades["reason"]],
            }
        ))

    def stating_conventions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the run's conventions (tax payment, loss convention, lot methods,
        rates, ...) in ``frame.attrs["conventions"]``, which ``to_parquet`` keeps: a table
        taken out of the run still says how its numbers were made."""
        frame.attrs["conventions"] = dict(self.conventions)
        return frame

    def lots(self) -> pd.DataFrame:
        """The ledger's open lots at the end of the run (``Ledger.lots``), stating the run's
        conventions (``attrs``)."""
        return self.stating_conventions(self.ledger.lots())

    def form_8949(self) -> pd.DataFrame:
        """The realized sales as Form 8949 rows (``Ledger.form_8949``), stating the run's
        conventions (``attrs``)."""
        return self.stating_conventions(self.ledger.form_8949())

    def annual_tax(self) -> pd.DataFrame:
        """The tax by year (``Ledger.annual_tax``), stating the run's conventions
        (``attrs``)."""
        return self.stating_conventions(self.ledger.annual_tax())

    def summary(self) -> dict:
        """Totals of the run (dollars) with its conventions.

        Conservation: ``end_value = legacy_value + sum(daily()["market_gain"]) + contributions
        - withdrawals - tax_paid_from_portfolio - fees - costs`` (``legacy_value``: the legacy
        lots' first-day market value, 0 without them).
        """
        end_value = float(self.account_values[-1].sum() + self.account_cash[-1].sum())
        return {
            "end_value": end_value,
            "start_value": self.start_value,
            "legacy_value": float(self.legacy_value),
            "contributions": float(self.totals[sim.TOT_CONTRIBUTIONS]),
            "withdrawals": float(self.totals[sim.TOT_WITHDRAWALS]),
            "tax_paid_from_portfolio": float(self.totals[sim.TOT_TAX_PAID]),
            "tax_paid_from_outside": float(self.totals[sim.TOT_TAX_OUTSIDE]),
            "tax_payable_at_end": self.tax_payable,
            "liquidation_tax_at_end": float(self.record[-1, sim.REC_LIQUIDATION_TAX]),
            "liquidation_value": self.liquidation_value,
            "unrealized_gain_at_end": float(self.record[-1, sim.REC_UNREALIZED_GAIN]),
            "fees": float(self.totals[sim.TOT_FEES]),
            "costs": float(self.totals[sim.TOT_COSTS]),
            **{f"convention_{k}": v for k, v in self.conventions.items()},
        }

    def to_parquet(self, folder) -> Path:
        """Write daily values, trades, lots, Form 8949 rows, annual tax, conventions and the
        tax rates the ledger used (``tax_rates.parquet``, see :func:`tax_rates_frame`), so that
        a folder read back (``taxsim report``, ``taxsim.demo.load_run_folder``) states the
        run's own rates."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.daily().to_parquet(folder / "daily.parquet")
        self.trades_frame().to_parquet(folder / "trades.parquet")
        self.lots().to_parquet(folder / "lots.parquet")
        self.form_8949().to_parquet(folder / "form_8949.parquet")
        self.annual_tax().to_parquet(folder / "annual_tax.parquet")
        pd.DataFrame([self.conventions]).to_parquet(folder / "conventions.parquet")
        tax_rates_frame(self.ledger.tax_profile, self.ledger.collectibles).to_parquet(
            folder / TAX_RATES_FILE)
        return folder


TAX_RATES_FILE = "tax_rates.parquet"
"""The file of a ``Result.to_parquet`` folder holding the run's tax profile."""
_RATE_FIELDS = tuple(rate.name for rate in fields(TaxRates))
# rate columns that older folders lack -> the value that reproduces their runs
# collectibles (28%) and unrecaptured_1250 (25%): folders written before the 28% and 25% groups
# were modelled read as the statutory maximum rates, which states their runs either way: no
# gain of theirs was collectibles or unrecaptured section 1250 gain (no tax character or
# distribution part could make it so), so the rates taxed nothing then
_RATE_FIELDS_ADDED_LATER = {"section_199a_deduction": 0.0, "collectibles": 0.28,
                            "unrecaptured_1250": 0.25}


def tax_rates_frame(tax_profile: TaxProfile, collectibles: Sequence[str] = ()) -> pd.DataFrame:
    """A tax profile as a table: one row for its default rates (``from_year`` missing) and one
    per ``by_year`` entry (the rates from that year on), columns ``from_year``, ``ordinary``,
    ``long_term``, ``qualified_dividend``, ``niit``, ``state``, ``section_199a_deduction``,
    ``collectibles``, ``unrecaptured_1250`` (fractions) and ``profile`` (its name), and
    ``long_term_before`` (the changes of the long-term rate within a year, as JSON).
    ``collectible_tickers`` (JSON list): the run's assets whose long-term gains were taxed at
    the ``collectibles`` rate (IRC §1(h)(4)-(5)), so that a folder read back states that rate.
    :func:`tax_profile_from_frame` rebuilds the profile, :func:`collectibles_from_frame` the
    tickers."""
    rows = [(None, tax_profile.default)] + sorted(tax_profile.by_year.items())
    changes = json.dumps(dict(tax_profile.long_term_before))
    return pd.DataFrame({
        "from_year": pd.array([year for year, _ in rows], dtype="Int64"),
        **{name: [float(getattr(rates, name)) for _, rates in rows] for name in _RATE_FIELDS},
        "profile": [tax_profile.name] * len(rows),
        "long_term_before": [changes] * len(rows),
        "collectible_tickers": [json.dumps(list(map(str, collectibles)))] * len(rows),
    })


def collectibles_from_frame(frame: pd.DataFrame) -> tuple[str, ...]:
    """The collectible tickers recorded by :func:`tax_rates_frame`; none for a folder written
    before the 28% group was modelled (no gain of its run was collectibles gain)."""
    if "collectible_tickers" not in frame.columns or frame.empty:
        return ()
    return tuple(json.loads(str(frame["collectible_tickers"].iloc[0])))


def tax_profile_from_frame(frame: pd.DataFrame) -> TaxProfile:
    """The :class:`TaxProfile` written by :func:`tax_rates_frame` (equal to the original).

    A frame without ``section_199a_deduction`` (written before the §199A deduction was
    modelled) reads as 0 in every row: that run taxed qualified REIT dividends in full, so 0
    states the rates its stored taxes were computed with (not today's 20%). A frame without
    ``collectibles`` or ``unrecaptured_1250`` (written before the 28% and 25% groups were
    modelled) reads as the statutory 0.28 and 0.25: that run had no such gain to tax.
    """
    required = [name for name in _RATE_FIELDS if name not in _RATE_FIELDS_ADDED_LATER]
    missing = [c for c in ("from_year", *required, "profile") if c not in frame.columns]
    if missing:
        raise ValueError(f"{TAX_RATES_FILE}: missing columns {missing}")
    absent = {name: value for name, value in _RATE_FIELDS_ADDED_LATER.items()
              if name not in frame.columns}
    default, by_year = None, {}
    for row in frame.itertuples(index=False):
        rates = TaxRates(**{name: absent[name] if name in absent else float(getattr(row, name))
                            for name in _RATE_FIELDS})
        if pd.isna(row.from_year):
            default = rates
        else:
            by_year[int(row.from_year)] = rates
    if default is None:
        raise ValueError(f"{TAX_RATES_FILE}: no row with the default rates (from_year missing)")
    changes = {}
    if "long_term_before" in frame.columns:  # folders written before 2026-11-23 lack it
        changes = json.loads(str(frame["long_term_before"].iloc[0]))
    return TaxProfile(default=default, by_year=by_year, name=str(frame["profile"].iloc[0]),
                      long_term_before=changes)
