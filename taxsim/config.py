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
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

BUILTIN_STRATEGIES = (
    "buy_and_hold",
    "calendar_rebalance",
    "drift_bands",
    "loss_harvest",
    "tax_aware_rebalance",
    "household_mix",
    "asset_location",
    "direct_indexing",
)
ACCOUNT_KINDS = ("taxable", "tax_deferred", "tax_exempt")
FILING_STATUSES = ("single", "married_joint", "married_separate", "head_of_household")
LOSS_CONVENTIONS = ("standalone", "offset")
# Factory arguments filled from the run when the config does not give them.
INJECTED = ("tickers", "n_accounts", "market", "household")


class RunConfigError(ValueError):
    """A configuration that cannot be used; the message is one line naming the field."""


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value):
    """``value`` as an ISO date string (None stays None); a clear error otherwise.

    Accepted: a date (a TOML date), a datetime at midnight (a TOML local date-time such as
    ``2010-01-04T00:00:00``, a ``pandas.Timestamp``), or a string that is exactly
    ``YYYY-MM-DD``. Anything else, a trailing character included, is an error: nothing is
    truncated or guessed.
    """
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        if value.time() != _dt.time(0) or value.tzinfo is not None:
            raise ValueError("not a date (YYYY-MM-DD): a date-time with a time of day")
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return _dt.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise ValueError("not a date (YYYY-MM-DD)")


def _plain(value):
    """A numpy scalar as the Python scalar it holds and a tuple as a list (what a sweep built in
    Python may pass); anything else unchanged. No other conversion: types are strict."""
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(
            value, "ndim", None) == 0:
        return value.item()
    if type(value) is tuple:
        return list(value)
    return value


class _Model(BaseModel):
    # strict types: "7" is not an integer, "0.3" not a number, 1 or "yes" not a boolean, true
    # not a number (an integer is a number). Numbers must be finite: TOML's nan and inf are
    # refused naming the field.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _plain_values(cls, data):
        if isinstance(data, dict):
            return {key: _plain(value) for key, value in data.items()}
        return data


DateLike = Annotated[str, BeforeValidator(_iso_date)]
"""A date: a TOML date or an exact ``YYYY-MM-DD`` string, kept as the ISO string."""

# market options that only the synthetic source reads (name -> default); another source
# refuses them rather than ignore them
SYNTHETIC_ONLY = {"seed": 0, "path": 0, "n_stocks": 0, "tail_df": None}


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
    """Horizon in years from ``start`` (synthetic: generated length; others: sets the end, and
    needs ``start``). Not with ``end``."""
    n_stocks: int = Field(0, ge=0)
    """Synthetic only: single stocks added to the six funds of the default universe."""
    tail_df: float | None = Field(None, gt=2)
    offline: bool = False
    """yfinance only: never download (use the cache)."""
    gaps: Literal["error", "carry_forward"] | None = None
    """Not for the synthetic source: how the loader treats missing days."""

    @field_validator("source")
    @classmethod
    def _source(cls, source):
        from taxsim.market.files import SHARED_DATASETS
        from taxsim.market.load import SOURCES

        if source in ("synthetic", "yfinance") or source in SHARED_DATASETS:
            return source
        path = Path(source)
        if path.suffix.lower() in (".parquet", ".pq", ".csv", ".gz") or path.exists():
            return source
        raise ValueError(f"unknown source {source!r}; use one of {SOURCES}")

    @model_validator(mode="after")
    def _check(self):
        # messages start with the full field name (format_validation_error keeps it as is)
        if self.source == "yfinance" and not self.tickers:
            raise ValueError("market.tickers: source 'yfinance' needs tickers")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"market.start: {self.start} is after market.end {self.end}")
        if self.years is not None and self.end is not None:
            raise ValueError(
                "market.end, market.years: give one of them (years counts from start; "
                "with both, the period would be ambiguous)"
            )
        if self.source != "synthetic":
            ignored = [f"market.{name}" for name, default in SYNTHETIC_ONLY.items()
                       if getattr(self, name) != default]
            if ignored:
                raise ValueError(
                    f"{', '.join(ignored)}: synthetic-only option(s), not used by source "
                    f"{self.source!r}; remove them"
                )
            if self.years is not None and self.start is None:
                raise ValueError(
                    f"market.years: needs market.start for source {self.source!r}"
                )
        else:
            if self.gaps is not None:
                raise ValueError("market.gaps: not used by source 'synthetic' (it has no gaps);"
                                 " remove it")
        if self.offline and self.source != "yfinance":
            raise ValueError(
                f"market.offline: yfinance-only option, not used by source {self.source!r}; "
                "remove it"
            )
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
    """``{ticker: group}``: tickers substantially identical for the wash-sale rule (every
    ticker must be in the market)."""
    accounts: list[AccountConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self):
        names = [a.name for a in self.accounts]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"duplicate account names {duplicated}")
        return self


_SIMPLE_TYPES = {"float": "a number", "int": "an integer", "bool": "true or false",
                 "str": "a string"}


def _simple_annotation(annotation) -> tuple[str | None, bool]:
    """``("float", allows_none)`` for a parameter annotated ``float``, ``float | None``,
    ``Optional[float]`` (as a string or a type; likewise int, bool, str); ``(None, ...)`` for
    anything else (not checked here: the factory checks it)."""
    if annotation is inspect.Parameter.empty:
        return None, False
    text = annotation if isinstance(annotation, str) else getattr(
        annotation, "__name__", None) if isinstance(annotation, type) else str(annotation)
    if text is None:
        return None, False
    text = text.replace("typing.", "").replace(" ", "")
    if text.startswith("Optional[") and text.endswith("]"):
        text = text[len("Optional["):-1] + "|None"
    parts = text.split("|")
    allows_none = "None" in parts
    parts = [part for part in parts if part != "None"]
    if len(parts) == 1 and parts[0] in _SIMPLE_TYPES:
        return parts[0], allows_none
    return None, allows_none


def _type_error(kind: str, allows_none: bool, value) -> str | None:
    """Why ``value`` is not of the simple type ``kind`` (None when it is)."""
    if value is None:
        return None if allows_none else f"must be {_SIMPLE_TYPES[kind]}, got None"
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        value = value.item()
    is_bool = isinstance(value, bool)
    ok = {
        "float": not is_bool and isinstance(value, (int, float)),
        "int": not is_bool and isinstance(value, int),
        "bool": is_bool,
        "str": isinstance(value, str),
    }[kind]
    if ok:
        return None
    return (f"must be {_SIMPLE_TYPES[kind]}{' or None' if allows_none else ''}, "
            f"got {value!r} ({type(value).__name__})")


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
                    f"{', '.join(f'strategy.params.{name}' for name in unknown)}: unknown "
                    f"parameter(s) {unknown} for strategy {self.name!r}; it takes "
                    f"{sorted(p for p in signature.parameters if p not in INJECTED)}"
                )
        missing = [
            name for name, p in signature.parameters.items()
            if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
            and name not in self.params and name not in INJECTED
        ]
        if missing:
            raise ValueError(f"strategy {self.name!r} needs parameter(s) {missing}")
        for name, value in self.params.items():
            parameter = signature.parameters.get(name)
            if parameter is None:
                continue
            kind, allows_none = _simple_annotation(parameter.annotation)
            problem = _type_error(kind, allows_none, value) if kind else None
            if problem:
                raise ValueError(f"strategy.params.{name}: {problem} (strategy {self.name!r})")
        return self


class RatesConfig(_Model):
    ordinary: float = Field(0.37, ge=0, lt=1)
    long_term: float = Field(0.20, ge=0, lt=1)
    qualified_dividend: float = Field(0.20, ge=0, lt=1)
    niit: float = Field(0.038, ge=0, lt=1)
    state: float = Field(0.0, ge=0, lt=1)
    section_199a_deduction: float = Field(0.20, ge=0, lt=1)
    """Fraction of qualified REIT dividends deducted from federal taxable income (IRC §199A:
    0.20 from 2018; ``TaxRates.section_199a_deduction``)."""
    collectibles: float = Field(0.28, ge=0, lt=1)
    """Maximum federal rate on long-term collectibles gain (IRC §1(h)(4)-(5);
    ``TaxRates.collectibles``)."""
    unrecaptured_1250: float = Field(0.25, ge=0, lt=1)
    """Maximum federal rate on unrecaptured section 1250 gain (IRC §1(h)(6);
    ``TaxRates.unrecaptured_1250``)."""


FLAT_ONLY_RATES = tuple(name for name in RatesConfig.model_fields if name != "state")
"""The rates a profile with rates by year ("us_top_historical") fixes itself: written beside
it, they are refused (only ``state`` adds to it)."""


class TaxConfig(_Model):
    profile: Literal["flat", "us_top_historical"] = "flat"
    """"flat": the rates below every year; "us_top_historical": top federal rates by year since
    1998 (plus ``state``)."""
    ordinary: float = Field(0.37, ge=0, lt=1)
    long_term: float = Field(0.20, ge=0, lt=1)
    qualified_dividend: float = Field(0.20, ge=0, lt=1)
    niit: float = Field(0.038, ge=0, lt=1)
    state: float = Field(0.0, ge=0, lt=1)
    section_199a_deduction: float = Field(0.20, ge=0, lt=1)
    """Fraction of qualified REIT dividends (and funds' section 199A dividends) deducted from
    federal taxable income: 0.20 (IRC §199A(a), (b)(1)(B), from 2018); 0 to ignore it."""
    collectibles: float = Field(0.28, ge=0, lt=1)
    """Maximum federal rate on long-term collectibles gain, the 28% group: sales of a
    "collectible" asset's shares (GLD, SLV, ...) and the ``collectibles_fraction`` of capital
    gain distributions (IRC §1(h)(4)-(5)); the ordinary rate applies where it is lower."""
    unrecaptured_1250: float = Field(0.25, ge=0, lt=1)
    """Maximum federal rate on unrecaptured section 1250 gain, the 25% group: the
    ``unrecaptured_1250_fraction`` of capital gain distributions (IRC §1(h)(6), Form 1099-DIV
    box 2b); the ordinary rate applies where it is lower."""
    by_year: dict[Annotated[int, Strict(False)], RatesConfig] = Field(default_factory=dict)
    """Rates from a year on (flat profile only), e.g. ``[tax.by_year.2026] ordinary = 0.396``
    (a TOML key is a string: "2026" is read as the year)."""
    long_term_before: dict[str, float] = Field(default_factory=dict)
    """Changes of the long-term rate within a year (flat profile only): ``{"2003-05-06" =
    0.20}`` taxes the long-term gain taken into account before that day at 20% (see
    ``TaxProfile.long_term_before``; "us_top_historical" has 2003's)."""
    loss_convention: Literal["standalone", "offset"] = "standalone"
    tax_payment: Literal["portfolio", "outside"] = "portfolio"
    tax_account: str | None = None
    taxes: bool = True
    """False runs pre-tax (no tax charged)."""

    @model_validator(mode="after")
    def _check(self):
        if self.profile != "flat":
            # the profile has its own rates by year: a flat rate given with it would be ignored
            # any rate written in the config, even one equal to the flat default, is refused:
            # the historical profile would not use it
            ignored = [f"tax.{name}" for name in FLAT_ONLY_RATES
                       if name in self.model_fields_set]
            if self.by_year:
                ignored.append("tax.by_year")
            if self.long_term_before:
                ignored.append("tax.long_term_before")
            if ignored:
                raise ValueError(
                    f"{', '.join(ignored)}: not used with tax.profile {self.profile!r} (its "
                    "rates by year are fixed; only tax.state adds to them); remove them, or "
                    "use profile 'flat'"
                )
        if self.long_term_before:
            from taxsim.ledger.household import ConfigError, TaxProfile

            try:
                TaxProfile(long_term_before=self.long_term_before)
            except ConfigError as error:
                raise ValueError(str(error).replace("tax_profile.", "tax.")) from None
        return self


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
            unknown = sorted(set(self.household.identity_groups) - set(self.market.tickers))
            if unknown:
                raise ValueError(
                    f"household.identity_groups: ticker(s) {unknown} not in market.tickers"
                )
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
        if location and (message.startswith(location + ".") or message.startswith(
                location + ":")):
            location = ""  # the message names the field itself (e.g. "market.seed: ...")
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


def _list_index(dotted: str, node: list, part: str) -> int:
    """The list index ``part`` of override ``dotted`` (an integer within ``node``), else a
    :class:`RunConfigError` naming the override."""
    try:
        index = int(part)
    except ValueError:
        raise RunConfigError(
            f"override {dotted!r}: {part!r} is not a list index (an integer: the list has "
            f"{len(node)} item(s))") from None
    if not -len(node) <= index < len(node):
        raise RunConfigError(f"override {dotted!r}: no item {index} in the list "
                             f"({len(node)} item(s))")
    return index


def apply_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict:
    """A deep copy of ``data`` with dotted-path overrides, e.g. ``{"strategy.params.threshold":
    0.1, "household.accounts.0.cash": 5e5}`` (integer parts index lists; missing tables are
    created). A part that is not an index of an existing list item, or a path through a value
    that is not a table, raises :class:`RunConfigError` naming the override."""
    out = _deep_copy(dict(data))
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        node: Any = out
        for position, part in enumerate(parts[:-1]):
            if isinstance(node, list):
                node = node[_list_index(dotted, node, part)]
                continue
            if not isinstance(node, dict):
                raise RunConfigError(
                    f"override {dotted!r}: {'.'.join(parts[:position])} is not a table"
                )
            node = node.setdefault(part, {})
        last = parts[-1]
        if isinstance(node, list):
            node[_list_index(dotted, node, last)] = _deep_copy(value)
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
        end = cut.date().isoformat()  # validation refuses end with years
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
    try:
        market = load(config.tickers, config.start, end, source=config.source, **options)
    except KeyError as error:  # a ticker the source does not have
        detail = error.args[0] if error.args else error
        raise RunConfigError(f"market.tickers: {detail}") from None
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
                       config.state, config.section_199a_deduction,
                       collectibles=config.collectibles,
                       unrecaptured_1250=config.unrecaptured_1250)
    by_year = {
        year: TaxRates(r.ordinary, r.long_term, r.qualified_dividend, r.niit, r.state,
                       r.section_199a_deduction, collectibles=r.collectibles,
                       unrecaptured_1250=r.unrecaptured_1250)
        for year, r in config.by_year.items()
    }
    name = (f"flat {100 * config.ordinary:g}% ordinary / {100 * config.long_term:g}% long-term"
            f" / {100 * config.niit:g}% NIIT / {100 * config.state:g}% state")
    if config.section_199a_deduction != TaxRates.section_199a_deduction:
        name += f" / {100 * config.section_199a_deduction:g}% §199A deduction"
    if config.collectibles != TaxRates.collectibles:
        name += f" / {100 * config.collectibles:g}% collectibles"
    if config.unrecaptured_1250 != TaxRates.unrecaptured_1250:
        name += f" / {100 * config.unrecaptured_1250:g}% unrecaptured §1250"
    if by_year:
        name += f", changing in {sorted(by_year)}"
    if config.long_term_before:
        changes = ", ".join(f"{100 * rate:g}% before {when}"
                            for when, rate in sorted(config.long_term_before.items()))
        name += f"; long-term {changes}"
    return TaxProfile(default=default, by_year=by_year, name=name,
                      long_term_before=config.long_term_before)


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
        message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
        raise RunConfigError(f"{_params_field(config, message)} ({config.name}): "
                             f"{message}") from None


def _params_field(config: StrategyConfig, message: str) -> str:
    """``strategy.params.<name>`` for the first given parameter that ``message`` names (as a
    word), else ``strategy.params``."""
    named = [(match.start(), name) for name in config.params
             if (match := re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", message))]
    return f"strategy.params.{min(named)[1]}" if named else "strategy.params"


def check_market_tickers(config: RunConfig, tickers) -> None:
    """Raise :class:`RunConfigError` naming the field if the targets, the legacy lots or the
    identity groups of ``config`` name a ticker not in ``tickers`` (the built market's)."""
    for account, weights in config.targets.items():
        unknown = sorted(set(weights) - set(tickers))
        if unknown:
            raise RunConfigError(
                f"targets.{account}: ticker(s) {unknown} not in the market {list(tickers)}"
            )
    for location, lot in _lot_locations(config.household):
        if lot.ticker not in tickers:
            raise RunConfigError(
                f"{location}.ticker: {lot.ticker!r} not in the market {list(tickers)}"
            )
    unknown = sorted(set(config.household.identity_groups) - set(tickers))
    if unknown:
        raise RunConfigError(
            f"household.identity_groups: ticker(s) {unknown} not in the market {list(tickers)}"
        )


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
    check_market_tickers(config, market.tickers)
    household = build_household(config.household)
    strategy = build_strategy(config.strategy, market, household)
    if not strategy.uses_targets and any(w != 0 for ws in config.targets.values()
                                         for w in ws.values()):
        raise RunConfigError(f"targets: strategy {config.strategy.name!r} holds its own target "
                             "(strategy.params) and would ignore these weights; write "
                             "targets = {}")
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
