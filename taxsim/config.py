"""Run configurations: a TOML file (or dict) describing one simulation, validated with pydantic.

Example (``examples/run.toml``)::

    name = "harvest vs. rebalance"

    [market]
    source = "synthetic"          # "synthetic", "yfinance", "us_etfs", "sp500", or a file path
    seed = 7
    years = 2
    start = "2010-01-04"

    [household]
    filing_status = "married_joint"
    identity_groups = { USTOTAL = "us", USLARGE = "us" }

    [[household.accounts]]
    name = "taxable"
    kind = "taxable"
    cash = 1_000_000              # dollars invested at the targets on the first day
    lots = [                      # legacy lots: held before the run, basis in total dollars
      { ticker = "USTOTAL", shares = 100, basis = 8_000, acquired = "2005-03-01" },
    ]

    [targets.taxable]
    USTOTAL = 0.6
    BOND = 0.4

    [strategy]
    name = "calendar_rebalance"   # a built-in (strategies/) or "package.module:factory"
    params = { frequency = "quarterly" }

    [tax]
    ordinary = 0.37
    loss_convention = "standalone"
    tax_payment = "portfolio"

    [costs]
    cost_bps = 2

    [run]
    twins = true

API: :func:`load_config` (path -> :class:`RunConfig`), :func:`config_from_dict`,
:func:`run_config` (config -> :class:`taxsim.engine.run.Result`), :func:`apply_overrides`
(dotted-path overrides on a raw dict, used by sweeps). Every validation error is a
:class:`RunConfigError` with a one-line message naming the field.
"""

from __future__ import annotations

import copy
import datetime as _dt
import functools
import importlib
import inspect
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

BUILTIN_STRATEGIES = (
    "buy_and_hold",
    "calendar_rebalance",
    "drift_bands",
    "loss_harvest",
    "tax_aware_rebalance",
    "household_mix",
    "asset_location",
)
ACCOUNT_KINDS = ("taxable", "tax_deferred", "tax_exempt")
FILING_STATUSES = ("single", "married_joint", "married_separate", "head_of_household")
LOSS_CONVENTIONS = ("standalone", "offset")
# Factory arguments filled from the run when the config does not give them.
INJECTED = ("tickers", "n_accounts", "market", "household")


class RunConfigError(ValueError):
    """A configuration that cannot be used; the message is one line naming the field."""


def _iso_date(value):
    """``value`` as an ISO date string (None stays None); a clear error otherwise."""
    if value is None:
        return None
    try:
        return _dt.date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError as error:
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from error


class _Model(BaseModel):
    # numbers must be finite: TOML's nan and inf are refused naming the field
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


DateLike = _dt.date | str


class MarketConfig(_Model):
    """Where prices come from and the period."""

    source: str = "synthetic"
    """"synthetic", "yfinance", a shared data set ("us_etfs", "sp500", "us_stocks") or a path."""
    tickers: list[str] | None = None
    """Tickers in column order (default: every ticker of the source; required for yfinance)."""
    start: DateLike | None = None
    end: DateLike | None = None
    seed: int = Field(0, ge=0)
    """Synthetic only: the generator seed."""
    path: int = Field(0, ge=0)
    """Synthetic only: which path of the seed."""
    years: float | None = Field(None, gt=0, le=100)
    """Horizon in years from ``start`` (synthetic: generated length; others: cuts ``end``)."""
    n_stocks: int = Field(0, ge=0)
    """Synthetic only: single stocks added to the six funds of the default universe."""
    tail_df: float | None = Field(None, gt=2)
    offline: bool = False
    """yfinance only: never download (use the cache)."""
    gaps: Literal["error", "carry_forward"] | None = None

    @field_validator("start", "end")
    @classmethod
    def _date(cls, value):
        return _iso_date(value)

    @model_validator(mode="after")
    def _check(self):
        if self.source == "yfinance" and not self.tickers:
            raise ValueError("source 'yfinance' needs tickers")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class LotConfig(_Model):
    """A legacy lot: shares bought before the run, with their basis and acquisition date.

    The run starts holding it (see ``simulate(initial_lots=...)``): it enters the ledger on
    its own date with its own basis, costs nothing to trade in, and is not a contribution; its
    market value at the first day's close is part of the initial investment.
    """

    ticker: str = Field(min_length=1)
    shares: float = Field(gt=0)
    """Shares held (as of before the first day; a split on the first day applies to them)."""
    basis: float = Field(ge=0)
    """Total cost basis of the lot (dollars), commissions included."""
    acquired: DateLike
    """Acquisition date, on or before the run's first trading day."""
    holding_start: DateLike | None = None
    """Date the holding period counts from when it is tacked (a gift, an inheritance, a
    wash-sale replacement); default ``acquired``. Not after ``acquired``."""

    @field_validator("acquired", "holding_start")
    @classmethod
    def _date(cls, value):
        return _iso_date(value)

    @model_validator(mode="after")
    def _check(self):
        if self.holding_start is not None and self.holding_start > self.acquired:
            raise ValueError(
                f"holding_start {self.holding_start} is after acquired {self.acquired}"
            )
        return self


class AccountConfig(_Model):
    name: str = Field(min_length=1)
    kind: Literal["taxable", "tax_deferred", "tax_exempt"] = "taxable"
    owner: str = ""
    reinvest: bool = True
    cash: float = Field(0.0, ge=0)
    """Dollars deposited on the first day and invested at the account's targets."""
    lots: list[LotConfig] = Field(default_factory=list)
    """Legacy lots held before the run (basis and acquisition date kept; see :class:`LotConfig`)."""


class HouseholdConfig(_Model):
    filing_status: Literal["single", "married_joint", "married_separate", "head_of_household"] = (
        "single"
    )
    identity_groups: dict[str, str] = Field(default_factory=dict)
    accounts: list[AccountConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self):
        names = [a.name for a in self.accounts]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"duplicate account names {duplicated}")
        return self


@functools.lru_cache(maxsize=64)
def _factory_signature(factory) -> inspect.Signature:
    """``inspect.signature`` of a strategy factory, once per factory (sweeps validate the
    strategy of every scenario)."""
    return inspect.signature(factory)


class StrategyConfig(_Model):
    name: str = "buy_and_hold"
    """A built-in strategy (``strategies/``) or ``"package.module:factory"``."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments of the strategy's factory (``tickers``, ``n_accounts``, ``market`` and
    ``household`` are filled from the run when the factory takes them)."""

    @model_validator(mode="after")
    def _check(self):
        signature = _factory_signature(strategy_factory(self.name))
        accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        if not accepts_any:
            unknown = sorted(set(self.params) - set(signature.parameters))
            if unknown:
                raise ValueError(
                    f"unknown parameter(s) {unknown} for strategy {self.name!r}; it takes "
                    f"{sorted(p for p in signature.parameters if p not in INJECTED)}"
                )
        missing = [
            name for name, p in signature.parameters.items()
            if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
            and name not in self.params and name not in INJECTED
        ]
        if missing:
            raise ValueError(f"strategy {self.name!r} needs parameter(s) {missing}")
        return self


class RatesConfig(_Model):
    ordinary: float = Field(0.37, ge=0, lt=1)
    long_term: float = Field(0.20, ge=0, lt=1)
    qualified_dividend: float = Field(0.20, ge=0, lt=1)
    niit: float = Field(0.038, ge=0, lt=1)
    state: float = Field(0.0, ge=0, lt=1)


class TaxConfig(_Model):
    profile: Literal["flat", "us_top_historical"] = "flat"
    """"flat": the rates below every year; "us_top_historical": top federal rates by year since
    1998 (plus ``state``)."""
    ordinary: float = Field(0.37, ge=0, lt=1)
    long_term: float = Field(0.20, ge=0, lt=1)
    qualified_dividend: float = Field(0.20, ge=0, lt=1)
    niit: float = Field(0.038, ge=0, lt=1)
    state: float = Field(0.0, ge=0, lt=1)
    by_year: dict[int, RatesConfig] = Field(default_factory=dict)
    """Rates from a year on (flat profile only), e.g. ``[tax.by_year.2026] ordinary = 0.396``."""
    loss_convention: Literal["standalone", "offset"] = "standalone"
    tax_payment: Literal["portfolio", "outside"] = "portfolio"
    tax_account: str | None = None
    taxes: bool = True
    """False runs pre-tax (no tax charged)."""


class CostsConfig(_Model):
    cost_bps: float = Field(0.0, ge=0, lt=10_000)
    """Basis points of each trade's notional (below 100%: a sale must leave proceeds)."""
    cost_per_trade: float = Field(0.0, ge=0)
    whole_shares: bool = False
    advisory_fee_bps: float = Field(0.0, ge=0, le=10_000)


class FlowConfig(_Model):
    date: DateLike
    account: str
    amount: float
    """Dollars: positive contribution, negative withdrawal (on a trading day; a withdrawal
    larger than the account is an error when the run reaches it)."""


class RunOptions(_Model):
    twins: bool = False
    """Also run the non-managed and pre-tax twins (needed for tax alpha)."""
    daily_liquidation: bool = True


class RunConfig(_Model):
    """One run: market, household, targets, strategy, tax, costs and run options."""

    name: str = "run"
    market: MarketConfig = Field(default_factory=MarketConfig)
    household: HouseholdConfig
    targets: dict[str, dict[str, float]]
    """``{account: {ticker: weight}}`` (fractions of the account's value; at most 1 in sum)."""
    strategy: StrategyConfig = Field(default_factory=StrategyConfig)
    tax: TaxConfig = Field(default_factory=TaxConfig)
    costs: CostsConfig = Field(default_factory=CostsConfig)
    flows: list[FlowConfig] = Field(default_factory=list)
    run: RunOptions = Field(default_factory=RunOptions)

    @field_validator("targets")
    @classmethod
    def _weights(cls, targets):
        for account, weights in targets.items():
            for ticker, weight in weights.items():
                if not 0.0 <= weight <= 1.0:
                    raise ValueError(f"{account}.{ticker}: weight {weight} is not in [0, 1]")
            total = sum(weights.values())
            if total > 1.0 + 1e-9:
                raise ValueError(f"{account}: weights sum to {total:g} > 1")
        return targets

    @model_validator(mode="after")
    def _cross(self):
        names = [a.name for a in self.household.accounts]
        for account in self.targets:
            if account not in names:
                raise ValueError(f"targets: unknown account {account!r}; accounts are {names}")
        if self.tax.tax_account is not None and self.tax.tax_account not in names:
            raise ValueError(f"tax.tax_account: unknown account {self.tax.tax_account!r}")
        for flow in self.flows:
            if flow.account not in names:
                raise ValueError(f"flows: unknown account {flow.account!r}")
        if self.market.tickers is not None:
            for account, weights in self.targets.items():
                unknown = sorted(set(weights) - set(self.market.tickers))
                if unknown:
                    raise ValueError(
                        f"targets.{account}: ticker(s) {unknown} not in market.tickers"
                    )
            for location, lot in _lot_locations(self.household):
                if lot.ticker not in self.market.tickers:
                    raise ValueError(f"{location}.ticker: {lot.ticker!r} not in market.tickers")
        return self

    def fingerprint(self) -> str:
        """A stable hash of the whole configuration (16 hex digits)."""
        return stable_hash(self.model_dump(mode="json"))


# ---------------------------------------------------------------------------- helpers


def _lot_locations(household: HouseholdConfig):
    """``("household.accounts[i].lots[j] (account)", lot)`` for every legacy lot."""
    for i, account in enumerate(household.accounts):
        for j, lot in enumerate(account.lots):
            yield f"household.accounts[{i}].lots[{j}] ({account.name})", lot


def initial_lots_frame(household: HouseholdConfig):
    """The legacy lots of a household config as ``simulate``'s ``initial_lots`` frame.

    Columns account, ticker, shares, basis (dollars), acquired and holding_start (dates;
    holding_start defaults to acquired); None when no account has lots.
    """
    import pandas as pd

    rows = [
        {"account": account.name, "ticker": lot.ticker, "shares": lot.shares,
         "basis": lot.basis, "acquired": lot.acquired,
         "holding_start": lot.holding_start or lot.acquired}
        for account in household.accounts for lot in account.lots
    ]
    return pd.DataFrame(rows) if rows else None


def stable_hash(value: Any, digits: int = 16) -> str:
    """sha256 of the canonical JSON of ``value`` (sorted keys), first ``digits`` hex digits."""
    import hashlib

    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:digits]


def strategy_factory(name: str):
    """The factory function of a strategy name (built-in, or ``module:attribute``)."""
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ValueError(f"cannot import strategy module {module_name!r}: {error}") from None
        factory = getattr(module, attribute, None)
        if not callable(factory):
            raise ValueError(f"{module_name!r} has no strategy factory {attribute!r}")
        return factory
    if name not in BUILTIN_STRATEGIES:
        raise ValueError(
            f"unknown strategy {name!r}; built-ins are {list(BUILTIN_STRATEGIES)} "
            "(or give 'package.module:factory')"
        )
    import strategies

    return getattr(strategies, name)


def _format_location(location: tuple) -> str:
    parts = []
    for item in location:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def format_validation_error(error: ValidationError, prefix: str = "") -> str:
    """One line: ``field: message; field: message``."""
    messages = []
    for item in error.errors():
        location = _format_location(tuple(item.get("loc", ())))
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        if item.get("type") == "extra_forbidden":
            message = "unknown field"
        if item.get("type") not in ("missing", "extra_forbidden") and "input" in item and (
            not isinstance(item["input"], (dict, list))
        ):
            message += f" (got {item['input']!r})"
        messages.append(f"{location}: {message}" if location else message)
    return prefix + "; ".join(messages).replace("\n", " ")


def config_from_dict(data: Mapping[str, Any], source: str = "config") -> RunConfig:
    """Validate a raw dict into a :class:`RunConfig` (errors: :class:`RunConfigError`)."""
    try:
        return RunConfig.model_validate(dict(data))
    except ValidationError as error:
        raise RunConfigError(format_validation_error(error, f"{source}: ")) from None


def read_toml(path: str | Path) -> dict:
    """The TOML file at ``path`` as a dict (errors: :class:`RunConfigError`, one line)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RunConfigError(f"{path}: no such file") from None
    except OSError as error:
        raise RunConfigError(f"{path}: cannot read ({error.strerror or error})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RunConfigError(f"{path}: invalid TOML: {error}") from None


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a run configuration TOML file."""
    return config_from_dict(read_toml(path), str(path))


def _deep_copy(value: Any) -> Any:
    """``copy.deepcopy`` for a config's plain data: dicts, lists and scalars are copied by hand
    (a sweep copies its base for every scenario), anything else by ``copy.deepcopy``."""
    kind = type(value)
    if kind is dict:
        return {key: _deep_copy(item) for key, item in value.items()}
    if kind is list:
        return [_deep_copy(item) for item in value]
    if kind in (str, int, float, bool) or value is None:
        return value
    return copy.deepcopy(value)


def apply_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict:
    """A deep copy of ``data`` with dotted-path overrides, e.g. ``{"strategy.params.threshold":
    0.1, "household.accounts.0.cash": 5e5}`` (integer parts index lists; missing tables are
    created)."""
    out = _deep_copy(dict(data))
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        node: Any = out
        for position, part in enumerate(parts[:-1]):
            key: Any = int(part) if isinstance(node, list) else part
            if isinstance(node, list):
                if not -len(node) <= key < len(node):
                    raise RunConfigError(f"override {dotted!r}: no item {key} in the list")
                node = node[key]
                continue
            if not isinstance(node, dict):
                raise RunConfigError(
                    f"override {dotted!r}: {'.'.join(parts[:position])} is not a table"
                )
            node = node.setdefault(key, {})
        last = parts[-1]
        if isinstance(node, list):
            node[int(last)] = _deep_copy(value)
        elif isinstance(node, dict):
            node[last] = _deep_copy(value)
        else:
            raise RunConfigError(f"override {dotted!r}: {'.'.join(parts[:-1])} is not a table")
    return out


# ---------------------------------------------------------------------------- building a run

_MARKET_CACHE: dict[str, Any] = {}
_MARKET_CACHE_SIZE = 16


def build_market(config: MarketConfig):
    """The :class:`~taxsim.market.Market` of a market config (cached per process)."""
    key = stable_hash(config.model_dump(mode="json"))
    market = _MARKET_CACHE.get(key)
    if market is not None:
        return market
    import pandas as pd

    from taxsim.market import default_universe, load

    end = config.end
    if config.years is not None and config.source != "synthetic":
        if config.start is None:
            raise RunConfigError("market.years: needs market.start for a non-synthetic source")
        cut = (pd.Timestamp(config.start) + pd.DateOffset(days=round(config.years * 365.25))
               - pd.Timedelta(days=1))
        end = min(end, cut.date().isoformat()) if end else cut.date().isoformat()
    options: dict[str, Any] = {}
    if config.source == "synthetic":
        options.update(seed=config.seed, path=config.path, tail_df=config.tail_df)
        if config.years is not None:
            options["years"] = config.years
        if config.n_stocks:
            options["universe"] = default_universe(n_stocks=config.n_stocks)
    elif config.source == "yfinance":
        options["offline"] = config.offline
    if config.gaps is not None:
        options["gaps"] = config.gaps
    market = load(config.tickers, config.start, end, source=config.source, **options)
    if len(_MARKET_CACHE) >= _MARKET_CACHE_SIZE:
        _MARKET_CACHE.pop(next(iter(_MARKET_CACHE)))
    _MARKET_CACHE[key] = market
    return market


def build_household(config: HouseholdConfig):
    from taxsim.ledger.household import Account, Household

    return Household(
        [Account(a.name, kind=a.kind, owner=a.owner, reinvest=a.reinvest)
         for a in config.accounts],
        filing_status=config.filing_status,
        identity_groups=config.identity_groups,
    )


def build_tax_profile(config: TaxConfig):
    from taxsim.ledger.household import TaxProfile, TaxRates

    if config.profile == "us_top_historical":
        return TaxProfile.us_top_historical(state=config.state)
    default = TaxRates(config.ordinary, config.long_term, config.qualified_dividend, config.niit,
                       config.state)
    by_year = {
        year: TaxRates(r.ordinary, r.long_term, r.qualified_dividend, r.niit, r.state)
        for year, r in config.by_year.items()
    }
    name = (f"flat {100 * config.ordinary:g}% ordinary / {100 * config.long_term:g}% long-term"
            f" / {100 * config.niit:g}% NIIT / {100 * config.state:g}% state")
    if by_year:
        name += f", changing in {sorted(by_year)}"
    return TaxProfile(default=default, by_year=by_year, name=name)


def build_strategy(config: StrategyConfig, market, household):
    factory = strategy_factory(config.name)
    parameters = _factory_signature(factory).parameters
    kwargs = dict(config.params)
    available = {
        "tickers": list(market.tickers),
        "n_accounts": len(household.accounts),
        "market": market,
        "household": household,
    }
    for name, value in available.items():
        if name in parameters and name not in kwargs:
            kwargs[name] = value
    try:
        return factory(**kwargs)
    except (TypeError, ValueError, KeyError) as error:
        raise RunConfigError(f"strategy.params ({config.name}): {error}") from None


def run_config(config: RunConfig | Mapping[str, Any] | str | Path, twin_cache=None):
    """Run one configuration; returns the engine's :class:`~taxsim.engine.run.Result`.

    ``twin_cache`` (a :class:`~taxsim.engine.run.TwinCache`): reuse twin runs shared with
    earlier configurations (sweeps).
    """
    import pandas as pd

    from taxsim.engine.run import simulate

    if isinstance(config, (str, Path)):
        config = load_config(config)
    elif not isinstance(config, RunConfig):
        config = config_from_dict(config)
    market = build_market(config.market)
    for account, weights in config.targets.items():
        unknown = sorted(set(weights) - set(market.tickers))
        if unknown:
            raise RunConfigError(
                f"targets.{account}: ticker(s) {unknown} not in the market {list(market.tickers)}"
            )
    for location, lot in _lot_locations(config.household):
        if lot.ticker not in market.tickers:
            raise RunConfigError(
                f"{location}.ticker: {lot.ticker!r} not in the market {list(market.tickers)}"
            )
    household = build_household(config.household)
    strategy = build_strategy(config.strategy, market, household)
    flows = None
    if config.flows:
        flows = pd.DataFrame([f.model_dump() for f in config.flows])
    contributions = {a.name: a.cash for a in config.household.accounts if a.cash}
    return simulate(
        market, household, strategy, config.targets,
        contributions=contributions or None,
        flows=flows,
        tax_profile=build_tax_profile(config.tax),
        loss_convention=config.tax.loss_convention,
        cost_bps=config.costs.cost_bps,
        cost_per_trade=config.costs.cost_per_trade,
        whole_shares=config.costs.whole_shares,
        advisory_fee_bps=config.costs.advisory_fee_bps,
        tax_payment=config.tax.tax_payment,
        tax_account=config.tax.tax_account,
        taxes=config.tax.taxes,
        twins=config.run.twins,
        daily_liquidation=config.run.daily_liquidation,
        initial_lots=initial_lots_frame(config.household),
        twin_cache=twin_cache,
    )


__all__ = [
    "RunConfig",
    "RunConfigError",
    "apply_overrides",
    "config_from_dict",
    "load_config",
    "read_toml",
    "run_config",
    "stable_hash",
]
