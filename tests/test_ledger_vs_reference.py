"""The numba ledger (``taxsim.Ledger``) against the plain-Python reference, event by event.

Hypothesis generates random event sequences over a household of two spouses' taxable
accounts, a traditional IRA and a Roth, with four assets of which SPY and IVV are substantially
identical: buys, sells with every relief method (specific lots drawn from the lots open at that
moment), dividends with qualified fractions and section 199A fractions (IRC §199A(e)(3), Treas.
Reg. §1.199A-3), interest, capital-gain distributions, return of capital, splits, year closes
and invalid calls. Dates advance 0-40 calendar days, or jump to the dates where the rules turn
(holding-period anniversaries, day 61 of the dividend test, day 46 of the §199A test, day 30/31
of a wash-sale window, year ends). Both ledgers get the same calls; after every call
their open lots, realized rows, annual-tax rows and cash must agree to the cent (shares to
1e-9), and a rejected call must raise in both and change nothing.

Hand-written sequences (:data:`EDGE_SEQUENCES`, :data:`CARRYFORWARD_SEQUENCE`) pin the rule
edges that random sequences reach only rarely: day 60/61 of the dividend test, day 45/46 of the
§199A test (with a split and a wash-sale piece), Feb 29, the
30th/31st day of a wash-sale window, retroactive matching into a closed year, the loss limit,
a sale at cost whose "loss" is float rounding, and a loss carried in from before the first year.

The event generator (:func:`run_events`) is shared with ``tests/test_ledger_invariants.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from tests.reference.ledger import ReferenceLedger, first_day_held_more_than

taxsim = pytest.importorskip("taxsim")
Account = taxsim.Account
Household = taxsim.Household
Ledger = taxsim.Ledger
TaxProfile = taxsim.TaxProfile
TaxRates = taxsim.TaxRates

DOLLAR_TOLERANCE = 0.005  # dollars
SHARE_TOLERANCE = 1e-9  # shares

ACCOUNT_SPECS = (
    # name, kind, owner, reinvest
    ("alice_taxable", "taxable", "alice", True),
    ("bob_taxable", "taxable", "bob", False),
    ("alice_ira", "tax_deferred", "alice", True),
    ("bob_roth", "tax_exempt", "bob", False),
)
ACCOUNT_NAMES = tuple(spec[0] for spec in ACCOUNT_SPECS)
ASSETS = ("SPY", "IVV", "QQQ", "BND")
ACCOUNT_KIND = {name: kind for name, kind, _, _ in ACCOUNT_SPECS}
IDENTITY_GROUPS = {"SPY": "sp500", "IVV": "sp500"}
SELL_METHODS = ("fifo", "lifo", "hifo", "tax_optimal", "gains_first", "average", "specific")
FILING_STATUSES = ("single", "married_joint", "married_separate", "head_of_household")

LOT_COLUMNS = ("account", "asset", "shares", "basis", "acquired", "holding_start")
LOT_MONEY = ("basis", "wash_adjustment")
REALIZED_EXACT = ("lot_id", "account", "asset", "taxable", "acquired", "holding_start", "sold")
REALIZED_MONEY = ("proceeds", "basis", "wash_disallowed", "wash_lost", "exempt_interest_disallowed",
                  "gain", "long_term_loss")
ANNUAL_MONEY = (
    "st_gain",
    "lt_gain",
    "qualified_dividends",
    "nonqualified_dividends",
    "interest",
    "exempt_interest",
    "st_capital_gain_distributions",
    "lt_capital_gain_distributions",
    "return_of_capital",
    "proceeds",
    "wash_disallowed",
    "wash_lost",
    "carryforward_st_in",
    "carryforward_lt_in",
    "net_st",
    "net_lt",
    "loss_deduction",
    "carryforward_st_out",
    "carryforward_lt_out",
    "ordinary_base",
    "lt_gain_base",
    "qualified_base",
    "federal_ordinary_tax",
    "federal_preferential_tax",
    "niit",
    "state_tax",
    "total_tax",
    "due",
    "st_gain_after_rate_change",
    "lt_gain_after_rate_change",
    "lt_gain_base_before_rate_change",
    "section_199a_dividends",
    "section_199a_deduction",
    "collectibles_gain",
    "unrecaptured_1250_gain",
    "collectibles_gain_base",
    "unrecaptured_1250_gain_base",
)


# ------------------------------------------------------------------------------ set-up


def make_household(filing_status: str) -> Any:
    """Two spouses' taxable accounts, alice's traditional IRA, bob's Roth; SPY ~ IVV."""
    accounts = tuple(
        Account(name, kind=kind, owner=owner, reinvest=reinvest)
        for name, kind, owner, reinvest in ACCOUNT_SPECS
    )
    return Household(
        accounts=accounts, filing_status=filing_status, identity_groups=dict(IDENTITY_GROUPS)
    )


def make_tax_profile(choice: str) -> Any:
    """A tax profile: the default, historical top rates with state tax (2003's long-term rate
    changes on May 6), rates by year, or rates by year whose long-term rate also changes within
    2013 and 2024 (late in the year, so that lots bought at the generated starts can be sold
    long-term on both sides of the change)."""
    if choice == "default":
        return TaxProfile()
    if choice == "historical":
        return TaxProfile.us_top_historical(state=0.05)
    if choice == "mid_year":
        return TaxProfile(
            default=TaxRates(ordinary=0.32, long_term=0.15, qualified_dividend=0.15, niit=0.0),
            by_year={2024: TaxRates(ordinary=0.35, long_term=0.2, qualified_dividend=0.18,
                                    niit=0.038, state=0.07)},
            long_term_before={"2013-12-16": 0.25, "2024-12-16": 0.1},
        )
    return TaxProfile(
        default=TaxRates(ordinary=0.32, long_term=0.15, qualified_dividend=0.15, niit=0.0),
        by_year={
            2024: TaxRates(
                ordinary=0.35, long_term=0.2, qualified_dividend=0.18, niit=0.038, state=0.07
            )
        },
    )


#: Assets treated as collectibles (IRC §408(m): a grantor trust holding metal), drawn per run;
#: SPY and IVV together keep the wash-sale pairs inside one character.
COLLECTIBLE_SETS = ((), (), ("QQQ",), ("SPY", "IVV"), ("QQQ", "BND"))


@dataclass
class Scenario:
    """The fixed settings of one generated run."""

    filing_status: str
    loss_convention: str
    tax_profile: str
    start: date
    carryforward: tuple[float, float]
    collectibles: tuple[str, ...] = ()  # IRC §408(m) collectibles among ASSETS


scenarios = st.builds(
    Scenario,
    filing_status=st.sampled_from(FILING_STATUSES),
    loss_convention=st.sampled_from(("standalone", "offset")),
    tax_profile=st.sampled_from(("default", "historical", "by_year", "mid_year")),
    start=st.sampled_from(
        (date(2012, 11, 20), date(2023, 12, 1), date(2024, 1, 2), date(2024, 2, 29),
         date(2002, 3, 1))
    ),
    carryforward=st.sampled_from(((0.0, 0.0), (0.0, 0.0), (1200.0, 0.0), (0.0, 4500.0))),
    collectibles=st.sampled_from(COLLECTIBLE_SETS),
)


def build_ledgers(scenario: Scenario, with_reference: bool = True) -> dict[str, Any]:
    """The numba ledger (``"taxsim"``) and, if asked, the reference (``"reference"``)."""
    household = make_household(scenario.filing_status)
    ledgers = {
        "taxsim": Ledger(
            household,
            list(ASSETS),
            make_tax_profile(scenario.tax_profile),
            loss_convention=scenario.loss_convention,
            carryforward=scenario.carryforward,
            collectibles=scenario.collectibles,
        )
    }
    if with_reference:
        ledgers["reference"] = ReferenceLedger(
            household,
            list(ASSETS),
            make_tax_profile(scenario.tax_profile),
            loss_convention=scenario.loss_convention,
            carryforward=scenario.carryforward,
            collectibles=scenario.collectibles,
        )
    return ledgers


# ------------------------------------------------------------------------------ snapshots


def _day(value: Any) -> date:
    return pd.Timestamp(value).date()


def lot_snapshot(ledger: Any) -> dict[int, dict[str, Any]]:
    """Open lots by lot id, normalised to plain Python values."""
    result = {}
    for row in ledger.lots().to_dict("records"):
        result[int(row["lot_id"])] = {
            "account": str(row["account"]),
            "asset": str(row["asset"]),
            "shares": float(row["shares"]),
            "basis": float(row["basis"]),
            "acquired": _day(row["acquired"]),
            "holding_start": _day(row["holding_start"]),
            "wash_adjustment": float(row["wash_adjustment"]),
            "replacement": bool(row["replacement"]),
        }
    return result


def realized_snapshot(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Realized rows in sale then relief order, normalised."""
    rows = []
    for row in frame.to_dict("records"):
        normalised = {"sale_id": int(row["sale_id"]), "shares": float(row["shares"])}
        normalised["term"] = str(row["term"])
        for name in REALIZED_EXACT:
            value = row[name]
            if name in ("acquired", "holding_start", "sold"):
                value = _day(value)
            elif name == "lot_id":
                value = int(value)
            elif name == "taxable":
                value = bool(value)
            else:
                value = str(value)
            normalised[name] = value
        for name in REALIZED_MONEY:
            normalised[name] = float(row[name])
        rows.append(normalised)
    return rows


def annual_snapshot(ledger: Any) -> dict[int, dict[str, float]]:
    """Annual-tax rows by year (the money columns both sides report)."""
    frame = ledger.annual_tax()
    result = {}
    for row in frame.to_dict("records"):
        result[int(row["year"])] = {name: float(row[name]) for name in ANNUAL_MONEY}
    return result


def full_snapshot(ledger: Any) -> dict[str, Any]:
    """Everything observable: lots, realized rows, annual tax, cash by account."""
    return {
        "lots": lot_snapshot(ledger),
        "realized": realized_snapshot(ledger.realized()),
        "annual": annual_snapshot(ledger),
        "cash": {name: float(ledger.cash(name)) for name in ACCOUNT_NAMES},
    }


# ------------------------------------------------------------------------------ comparison


def _near(left: float, right: float, tolerance: float) -> bool:
    return abs(left - right) <= tolerance or (math.isnan(left) and math.isnan(right))


def compare_snapshots(actual: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Differences between two full snapshots (``actual``: taxsim, ``expected``: reference)."""
    problems: list[str] = []
    actual_lots, expected_lots = actual["lots"], expected["lots"]
    if set(actual_lots) != set(expected_lots):
        problems.append(
            f"open lot ids differ: taxsim {sorted(actual_lots)} reference {sorted(expected_lots)}"
        )
    for lot_id in sorted(set(actual_lots) & set(expected_lots)):
        got, want = actual_lots[lot_id], expected_lots[lot_id]
        for name, value in want.items():
            if name == "shares":
                same = _near(got[name], value, SHARE_TOLERANCE)
            elif name in LOT_MONEY:
                same = _near(got[name], value, DOLLAR_TOLERANCE)
            else:
                same = got[name] == value
            if not same:
                problems.append(f"lot {lot_id} {name}: taxsim {got[name]!r} reference {value!r}")
    actual_rows, expected_rows = actual["realized"], expected["realized"]
    if len(actual_rows) != len(expected_rows):
        problems.append(f"realized rows: taxsim {len(actual_rows)} reference {len(expected_rows)}")
    for got, want in zip(actual_rows, expected_rows, strict=False):
        label = f"sale {want['sale_id']} lot {want['lot_id']}"
        for name, value in want.items():
            if name == "shares":
                same = _near(got[name], value, SHARE_TOLERANCE)
            elif name in REALIZED_MONEY:
                same = _near(got[name], value, DOLLAR_TOLERANCE)
            else:
                same = got[name] == value
            if not same:
                problems.append(
                    f"realized {label} {name}: taxsim {got[name]!r} reference {value!r}"
                )
    problems.extend(compare_annual(actual["annual"], expected["annual"]))
    for name in ACCOUNT_NAMES:
        if not _near(actual["cash"][name], expected["cash"][name], DOLLAR_TOLERANCE):
            problems.append(
                f"cash {name}: taxsim {actual['cash'][name]!r} reference {expected['cash'][name]!r}"
            )
    return problems


def compare_annual(
    actual: dict[int, dict[str, float]], expected: dict[int, dict[str, float]]
) -> list[str]:
    """Annual rows by year. taxsim starts at the first year with income, the reference at the
    first year with any event: a year only the reference shows must be all zero."""
    problems = []
    for year in sorted(set(actual) | set(expected)):
        if year not in expected:
            problems.append(f"annual {year}: only taxsim has this year")
            continue
        want = expected[year]
        if year not in actual:
            nonzero = {k: v for k, v in want.items() if abs(v) > DOLLAR_TOLERANCE}
            nonzero.pop("carryforward_st_in", None)
            nonzero.pop("carryforward_lt_in", None)
            nonzero.pop("carryforward_st_out", None)
            nonzero.pop("carryforward_lt_out", None)
            if nonzero or year >= min(actual, default=year + 1):
                problems.append(f"annual {year}: missing in taxsim; reference has {nonzero}")
            continue
        got = actual[year]
        for name, value in want.items():
            if not _near(got[name], value, DOLLAR_TOLERANCE):
                problems.append(f"annual {year} {name}: taxsim {got[name]!r} reference {value!r}")
    return problems


# ------------------------------------------------------------------------------ driving


#: Prices on the first day of a generated sequence, dollars per share.
START_PRICES = {"SPY": 100.0, "IVV": 50.0, "QQQ": 20.0, "BND": 10.0}

#: Position of the date among the positional arguments of the dated calls.
DATE_ARGUMENT = {"buy": 4, "sell": 4, "distribute": 1, "split": 1}


@dataclass
class Driver:
    """Applies the same call to every ledger and records a readable log of the calls."""

    ledgers: dict[str, Any]
    check: Callable[[Driver, str], None] | None = None
    log: list[str] = field(default_factory=list)
    last_event_day: date | None = None
    first_event_day: date | None = None
    last_accepted: bool = False
    cached_snapshots: dict[str, Any] | None = None

    def snapshots(self) -> dict[str, Any]:
        """Full snapshot of every ledger, cached until the next accepted call."""
        if self.cached_snapshots is None:
            self.cached_snapshots = {
                label: full_snapshot(ledger) for label, ledger in self.ledgers.items()
            }
        return self.cached_snapshots

    @property
    def chooser(self) -> Any:
        """The ledger whose state is used to draw valid arguments (the reference if any)."""
        return self.ledgers.get("reference", self.ledgers["taxsim"])

    def call(self, operation: str, *args: Any, expect_error: bool = False, **kwargs: Any) -> Any:
        """Call ``operation`` on every ledger; both must succeed or both raise ``ValueError``."""
        rendered = ", ".join(
            [repr(arg) for arg in args] + [f"{key}={value!r}" for key, value in kwargs.items()]
        )
        line = f"ledger.{operation}({rendered})"
        self.log.append(line)
        if currently_in_test_context():
            note(line)
        before = self.snapshots()
        outcomes: dict[str, Any] = {}
        for label, ledger in self.ledgers.items():
            try:
                outcomes[label] = ("ok", getattr(ledger, operation)(*args, **kwargs))
            except ValueError as error:
                outcomes[label] = ("error", error)
        kinds = {label: outcome[0] for label, outcome in outcomes.items()}
        self.last_accepted = kinds["taxsim"] == "ok"
        if self.last_accepted:
            self.cached_snapshots = None
        if len(set(kinds.values())) != 1:
            detail = {label: repr(outcome[1])[:300] for label, outcome in outcomes.items()}
            raise AssertionError(f"{line}: outcomes differ {detail}\n" + "\n".join(self.log))
        if expect_error and kinds["taxsim"] != "error":
            raise AssertionError(f"{line} should have been rejected\n" + "\n".join(self.log))
        if kinds["taxsim"] == "error":
            for label, ledger in self.ledgers.items():
                after = full_snapshot(ledger)
                if after != before[label]:
                    raise AssertionError(
                        f"{line}: rejected but {label} changed\n" + "\n".join(self.log)
                    )
            return None
        if operation in DATE_ARGUMENT:
            self.last_event_day = _day(args[DATE_ARGUMENT[operation]])
            if self.first_event_day is None:
                self.first_event_day = self.last_event_day
        results = {label: outcome[1] for label, outcome in outcomes.items()}
        if "reference" in results:
            compare_results(operation, results["taxsim"], results["reference"], self.log)
        if self.check is not None:
            self.check(self, line)
        return results["taxsim"]


def compare_results(method: str, actual: Any, expected: Any, log: list[str]) -> None:
    """Return values: lot id of ``buy``, rows of ``sell``, tax due of ``close_year``."""
    if method == "buy":
        assert int(actual) == int(expected), f"buy returned {actual} vs {expected}\n" + "\n".join(
            log
        )
    elif method == "close_year":
        assert _near(float(actual), float(expected), DOLLAR_TOLERANCE), (
            f"close_year due: taxsim {actual} reference {expected}\n" + "\n".join(log)
        )
    elif method == "sell":
        got, want = realized_snapshot(actual), realized_snapshot(expected)
        assert [row["lot_id"] for row in got] == [row["lot_id"] for row in want], (
            "sell rows differ\n" + "\n".join(log)
        )


def check_against_reference(driver: Driver, line: str) -> None:
    """After every accepted call both ledgers must show the same state."""
    snapshots = driver.snapshots()
    actual, expected = snapshots["taxsim"], snapshots["reference"]
    problems = compare_snapshots(actual, expected)
    if problems:
        raise AssertionError(
            "taxsim and the reference differ after\n  "
            + "\n  ".join(driver.log)
            + "\n"
            + "\n".join(problems[:25])
        )


# ------------------------------------------------------------------------------ events

GAPS = st.one_of(st.integers(0, 3), st.integers(0, 40), st.sampled_from((29, 30, 31, 60, 61, 62)))
PRICE_FACTORS = (0.6, 0.8, 0.9, 0.97, 1.0, 1.0, 1.03, 1.1, 1.25, 1.5)
SHARE_COUNTS = (1.0, 2.5, 10.0, 25.0, 40.0, 100.0, 300.0, 7.125, 0.3)


@dataclass
class EventState:
    """What the generator knows: the date, prices, closed years."""

    today: date
    prices: dict[str, float]
    last_closed_year: int | None = None
    sale_days: list[date] = field(default_factory=list)
    sold_assets: list[str] = field(default_factory=list)
    # ex-dates of dividends with a section 199A part, by asset
    section_199a_days: dict[str, list[date]] = field(default_factory=dict)

    def note_section_199a(self, asset: str, amounts: dict[str, Any]) -> None:
        """Remember today as an ex-date of ``asset`` if the dividend has a section 199A part."""
        if amounts.get("dividend", 0.0) > 0.0 and amounts.get("section_199a_fraction", 0.0) > 0.0:
            self.section_199a_days.setdefault(asset, []).append(self.today)

    def next_year_to_close(self, driver: Driver) -> int:
        """The first open year; years before the first event are never closed."""
        if self.last_closed_year is not None:
            return self.last_closed_year + 1
        if driver.first_event_day is None:
            return self.today.year + 1
        return driver.first_event_day.year


def _open_lots(driver: Driver) -> list[dict[str, Any]]:
    return [{"lot_id": lot_id, **values} for lot_id, values in lot_snapshot(driver.chooser).items()]


RATE_CHANGE_EDGES = [date(2003, 5, 5), date(2003, 5, 6), date(2013, 12, 15), date(2013, 12, 16),
                     date(2024, 12, 15), date(2024, 12, 16)]


def _advance_date(data: st.DataObject, driver: Driver, state: EventState) -> None:
    """Move the date: a gap of 0-40 days, or a jump to a date where a rule turns."""
    lots = _open_lots(driver)
    targets = []
    for lot in lots:
        for start, months in ((lot["holding_start"], 12), (lot["acquired"], 6)):
            turn = first_day_held_more_than(start, months)  # long-term; past six months
            targets += [turn - timedelta(days=1), turn]
        targets += [lot["acquired"] + timedelta(days=days) for days in (30, 31, 45, 46, 60, 61)]
    for sale_day in state.sale_days[-4:]:
        targets += [sale_day + timedelta(days=30), sale_day + timedelta(days=31)]
    targets += [date(state.today.year, 12, 31), date(state.today.year + 1, 1, 1)]
    targets += RATE_CHANGE_EDGES  # the last day of an old long-term rate, the first of a new one
    targets = sorted({day for day in targets if state.today <= day <= state.today + timedelta(400)})
    if targets and data.draw(st.integers(0, 3), label="jump") == 0:
        new_day = data.draw(st.sampled_from(targets), label="jump_to")
    else:
        new_day = state.today + timedelta(days=data.draw(GAPS, label="gap"))
    if state.last_closed_year is not None and new_day.year <= state.last_closed_year:
        new_day = date(state.last_closed_year + 1, 1, 1)
    state.today = new_day


def _advance_date_by_days(data: st.DataObject, driver: Driver, state: EventState) -> None:
    """Move the date by days, not months: a gap of 0-15 days, or a jump to day 45 or 46 (or
    61) after a young taxable lot's acquisition, or to the year's end when it is near.
    Keeps purchases, ex-dates and sales within the 46-day test of §199A."""
    targets = [
        lot["acquired"] + timedelta(days=days)
        for lot in _young_lots(driver, state)
        for days in (45, 46, 61)
    ]
    targets += [date(state.today.year, 12, 31), date(state.today.year + 1, 1, 1)]
    targets = sorted({day for day in targets
                      if state.today <= day <= state.today + timedelta(days=61)})
    if targets and data.draw(st.integers(0, 3), label="jump") == 0:
        new_day = data.draw(st.sampled_from(targets), label="jump_to")
    else:
        new_day = state.today + timedelta(days=data.draw(st.integers(0, 15), label="gap"))
    if state.last_closed_year is not None and new_day.year <= state.last_closed_year:
        new_day = date(state.last_closed_year + 1, 1, 1)
    state.today = new_day


def _move_price(data: st.DataObject, state: EventState, asset: str) -> float:
    factor = data.draw(st.sampled_from(PRICE_FACTORS), label="price_factor")
    state.prices[asset] = max(1.0, round(state.prices[asset] * factor, 2))
    return state.prices[asset]


def _buy(data: st.DataObject, driver: Driver, state: EventState) -> None:
    account = data.draw(st.sampled_from(ACCOUNT_NAMES), label="account")
    asset = data.draw(st.sampled_from(ASSETS), label="asset")
    shares = data.draw(st.sampled_from(SHARE_COUNTS), label="shares")
    price = _move_price(data, state, asset)
    driver.call("buy", account, asset, shares, price, state.today.isoformat())


def _taxable_buy(data: st.DataObject, driver: Driver, state: EventState) -> None:
    """A purchase in one of the taxable accounts (where the holding tests bind)."""
    account = data.draw(st.sampled_from(ACCOUNT_NAMES[:2]), label="account")
    asset = data.draw(st.sampled_from(ASSETS), label="asset")
    shares = data.draw(st.sampled_from(SHARE_COUNTS), label="shares")
    price = _move_price(data, state, asset)
    driver.call("buy", account, asset, shares, price, state.today.isoformat())


def _sell(data: st.DataObject, driver: Driver, state: EventState) -> None:
    lots = _open_lots(driver)
    holdings = sorted({(lot["account"], lot["asset"]) for lot in lots})
    if not holdings:
        _buy(data, driver, state)
        return
    account, asset = data.draw(st.sampled_from(holdings), label="holding")
    own = [lot for lot in lots if lot["account"] == account and lot["asset"] == asset]
    held = sum(lot["shares"] for lot in own)
    method = data.draw(st.sampled_from(SELL_METHODS), label="method")
    price = _move_price(data, state, asset)
    day = state.today.isoformat()
    if method == "specific":
        chosen = data.draw(
            st.lists(st.sampled_from(own), min_size=1, max_size=len(own), unique_by=id),
            label="lots",
        )
        lot_shares = {}
        for lot in chosen:
            part = data.draw(st.sampled_from((1.0, 1.0, 0.5, 0.25)), label="part")
            lot_shares[lot["lot_id"]] = lot["shares"] * part
        shares = None if data.draw(st.booleans(), label="shares_none") else sum(lot_shares.values())
        driver.call("sell", account, asset, shares, price, day, method=method, lots=lot_shares)
    else:
        fraction = data.draw(st.sampled_from((1.0, 1.0, 0.5, 0.3, 0.9)), label="fraction")
        shares = held if fraction == 1.0 else held * fraction
        driver.call("sell", account, asset, shares, price, day, method=method)
    state.sale_days.append(state.today)
    state.sold_assets.append(asset)


#: Days after a lot's acquisition before which a sale fails the §199A holding test.
SECTION_199A_HOLDING_DAYS = 46


def _young_lots(driver: Driver, state: EventState) -> list[dict[str, Any]]:
    """Open lots of taxable accounts acquired 46 days ago or less (day 45 is the last day
    a sale fails the §199A test, day 46 the first it passes)."""
    return [
        lot for lot in _open_lots(driver)
        if ACCOUNT_KIND[lot["account"]] == "taxable"
        and (state.today - lot["acquired"]).days <= SECTION_199A_HOLDING_DAYS
    ]


def _young_sale(data: st.DataObject, driver: Driver, state: EventState) -> None:
    """Sell some shares of a taxable lot acquired 46 days ago or less (specific lot), one
    that received a section 199A dividend if any did, often on day 45 or 46 after its
    acquisition, so that the dividend fails (or just passes) the holding test of Treas. Reg.
    §1.199A-3(c)(2)(ii); a plain sale when there is none."""
    young = _young_lots(driver, state)
    if not young:
        _sell(data, driver, state)
        return
    paid = [
        lot for lot in young
        if any(lot["acquired"] < day for day in state.section_199a_days.get(lot["asset"], ()))
    ]
    lot = data.draw(st.sampled_from(paid or young), label="young_lot")
    edge = lot["acquired"] + timedelta(days=data.draw(st.sampled_from((45, 46)), label="edge"))
    # only a short move: a long one would age every other young lot past the test
    near = state.today <= edge <= state.today + timedelta(days=10)
    if near and data.draw(st.booleans(), label="to_edge"):
        state.today = edge  # the last day that fails the §199A test, or the first that passes
    part = data.draw(st.sampled_from((1.0, 0.5, 0.25)), label="part")
    price = _move_price(data, state, lot["asset"])
    driver.call("sell", lot["account"], lot["asset"], None, price, state.today.isoformat(),
                method="specific", lots={lot["lot_id"]: lot["shares"] * part})
    state.sale_days.append(state.today)
    state.sold_assets.append(lot["asset"])


def _rebuy(data: st.DataObject, driver: Driver, state: EventState) -> None:
    """Buy an asset substantially identical to a recently sold one (a wash-sale candidate)."""
    if not state.sold_assets:
        _buy(data, driver, state)
        return
    sold = state.sold_assets[-1]
    edge = state.sale_days[-1] + timedelta(days=data.draw(st.sampled_from((30, 31)), label="edge"))
    open_year = state.last_closed_year is None or edge.year > state.last_closed_year
    if edge >= state.today and open_year and data.draw(st.booleans(), label="to_edge"):
        state.today = edge  # the last day of the wash-sale window, or the day after
    group = [
        asset
        for asset in ASSETS
        if IDENTITY_GROUPS.get(asset, asset) == (IDENTITY_GROUPS.get(sold, sold))
    ]
    account = data.draw(st.sampled_from(ACCOUNT_NAMES), label="account")
    asset = data.draw(st.sampled_from(group), label="asset")
    shares = data.draw(st.sampled_from(SHARE_COUNTS), label="shares")
    price = _move_price(data, state, asset)
    driver.call("buy", account, asset, shares, price, state.today.isoformat())


def _distribute(data: st.DataObject, driver: Driver, state: EventState) -> None:
    asset = data.draw(st.sampled_from(ASSETS), label="asset")
    price = _move_price(data, state, asset)
    qualified = data.draw(st.sampled_from((1.0, 0.0, 0.6)), label="qualified")
    amounts = {
        "dividend": data.draw(st.sampled_from((0.0, 0.12, 0.5, 1.0)), label="dividend"),
        "qualified_fraction": qualified,
        "section_199a_fraction": _draw_section_199a_fraction(data, qualified),
        "interest": data.draw(st.sampled_from((0.0, 0.0, 0.2)), label="interest"),
        "exempt_interest": data.draw(st.sampled_from((0.0, 0.0, 0.1, 2.0)), label="exempt"),
        "st_capital_gain": data.draw(st.sampled_from((0.0, 0.0, 0.3)), label="st_cg"),
        "lt_capital_gain": data.draw(st.sampled_from((0.0, 0.0, 0.8)), label="lt_cg"),
        "return_of_capital": data.draw(
            st.sampled_from((0.0, 0.0, 0.0, 0.5, price * 0.7)), label="roc"
        ),
    }
    if amounts["exempt_interest"] > 0.0:
        # a fund declaring exempt-interest dividends daily is outside §852(b)(4)(B)
        amounts["exempt_interest_daily"] = data.draw(st.booleans(), label="exempt_daily")
    amounts.update(_draw_capital_gain_parts(data, amounts["lt_capital_gain"]))
    driver.call("distribute", asset, state.today.isoformat(), price, **amounts)
    state.note_section_199a(asset, amounts)


#: (box 2d, box 2b) parts of a long-term capital gain distribution: 28% rate gain
#: (collectibles, IRC §1(h)(4)) and unrecaptured section 1250 gain (§1(h)(6)).
CAPITAL_GAIN_PARTS = ((0.0, 0.0), (0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (0.3, 0.5), (0.0, 0.25))


def _draw_capital_gain_parts(data: st.DataObject, lt_capital_gain: float) -> dict[str, float]:
    """Box 2d and box 2b fractions for a distribution with long-term capital gain."""
    if lt_capital_gain <= 0.0:
        return {}
    collectibles, unrecaptured = data.draw(st.sampled_from(CAPITAL_GAIN_PARTS),
                                           label="capital_gain_parts")
    return {"collectibles_fraction": collectibles, "unrecaptured_1250_fraction": unrecaptured}


#: Section 199A fractions drawn for a dividend (0 twice: most dividends are not a REIT's).
SECTION_199A_FRACTIONS = (0.0, 0.0, 1.0, 0.4)


def _draw_section_199a_fraction(data: st.DataObject, qualified_fraction: float) -> float:
    """A section 199A fraction that fits beside ``qualified_fraction`` (box 5 of Form 1099-DIV
    is never part of box 1b: the two add up to at most 1)."""
    allowed = [value for value in SECTION_199A_FRACTIONS if qualified_fraction + value <= 1.0]
    return data.draw(st.sampled_from(allowed), label="section_199a")


def _reit_distribute(data: st.DataObject, driver: Driver, state: EventState) -> None:
    """A REIT's (or a REIT fund's) dividend, mostly on an asset a taxable account bought 46
    days ago or less, with a section 199A part (IRC §199A(e)(3)): the 46-day test of
    Treas. Reg. §1.199A-3(c)(2)(ii) then turns on the sales that follow."""
    held = sorted({lot["asset"] for lot in _young_lots(driver, state)})
    asset = data.draw(st.sampled_from(held * 3 + list(ASSETS)), label="asset")
    price = _move_price(data, state, asset)
    qualified = data.draw(st.sampled_from((0.0, 0.0, 0.2, 1.0)), label="qualified")
    fits = [value for value in (1.0 - qualified, 0.5, 0.0) if qualified + value <= 1.0]
    amounts = {
        "dividend": data.draw(st.sampled_from((0.4, 1.0, 0.07)), label="dividend"),
        "qualified_fraction": qualified,
        "section_199a_fraction": data.draw(st.sampled_from(fits), label="section_199a"),
        "lt_capital_gain": data.draw(st.sampled_from((0.0, 0.0, 0.3)), label="lt_cg"),
        "return_of_capital": data.draw(st.sampled_from((0.0, 0.0, 0.2)), label="roc"),
    }
    driver.call("distribute", asset, state.today.isoformat(), price, **amounts)
    state.note_section_199a(asset, amounts)


def _fund_distribute(data: st.DataObject, driver: Driver, state: EventState) -> None:
    """A fund's distribution of the amounts IRC §852(b)(4) follows for six months: exempt
    interest (sometimes from a fund declaring it daily) and long-term capital gains, mostly
    on an asset a taxable account holds (the rules bind only there)."""
    held = sorted({lot["asset"] for lot in _open_lots(driver)
                   if ACCOUNT_KIND[lot["account"]] == "taxable"})
    asset = data.draw(st.sampled_from(held + held + list(ASSETS)), label="asset")
    price = _move_price(data, state, asset)
    amounts = {
        "exempt_interest": data.draw(st.sampled_from((0.5, 0.1, 3.0, 0.0)), label="exempt"),
        "lt_capital_gain": data.draw(st.sampled_from((0.8, 0.0, 0.0)), label="lt_cg"),
        "exempt_interest_daily": data.draw(st.sampled_from((False, False, True)),
                                           label="exempt_daily"),
    }
    amounts.update(_draw_capital_gain_parts(data, amounts["lt_capital_gain"]))
    driver.call("distribute", asset, state.today.isoformat(), price, **amounts)


def _split(data: st.DataObject, driver: Driver, state: EventState,
           assets: tuple[str, ...] = ASSETS) -> None:
    asset = data.draw(st.sampled_from(assets), label="asset")
    ratio = data.draw(st.sampled_from((2.0, 3.0, 0.5, 1.5)), label="ratio")
    state.prices[asset] = max(1.0, round(state.prices[asset] / ratio, 2))
    driver.call("split", asset, state.today.isoformat(), ratio)


def _young_split(data: st.DataObject, driver: Driver, state: EventState) -> None:
    """A split, mostly of an asset a taxable account bought 46 days ago or less: the §199A
    amounts per share still subject to the holding test must follow it."""
    held = sorted({lot["asset"] for lot in _young_lots(driver, state)})
    _split(data, driver, state, tuple(held * 3) + ASSETS)


def _close_years(data: st.DataObject, driver: Driver, state: EventState) -> None:
    """Close every open year before today's; sometimes today's too (then move to Jan 1)."""
    close_current = data.draw(st.integers(0, 3), label="close_current") == 0
    last = state.today.year if close_current else state.today.year - 1
    while state.next_year_to_close(driver) <= last:
        year = state.next_year_to_close(driver)
        driver.call("close_year", year)
        state.last_closed_year = year
    if state.last_closed_year is not None and state.today.year <= state.last_closed_year:
        state.today = date(state.last_closed_year + 1, 1, 1)


def _invalid(data: st.DataObject, driver: Driver, state: EventState) -> None:
    """A call the contract rejects; both must raise and change nothing."""
    lots = _open_lots(driver)
    day = state.today.isoformat()
    price = state.prices["SPY"]
    choices = ["unknown_asset", "unknown_account", "bad_shares", "bad_price", "unknown_lot",
               "bad_section_199a"]
    if lots:
        choices += ["oversell", "oversell_lot", "wrong_account_lot"]
    if driver.last_event_day is not None:
        choices.append("backwards")
    if state.last_closed_year is not None:
        choices += ["closed_year", "reclose"]
    kind = data.draw(st.sampled_from(choices), label="invalid")
    if kind == "unknown_asset":
        driver.call("buy", "alice_taxable", "XYZ", 1.0, price, day, expect_error=True)
    elif kind == "unknown_account":
        driver.call("buy", "carol_taxable", "SPY", 1.0, price, day, expect_error=True)
    elif kind == "bad_shares":
        shares = data.draw(st.sampled_from((0.0, -1.0, math.nan, math.inf)), label="bad")
        driver.call("buy", "alice_taxable", "SPY", shares, price, day, expect_error=True)
    elif kind == "bad_price":
        bad = data.draw(st.sampled_from((0.0, -3.0, math.nan, math.inf)), label="bad")
        driver.call("buy", "bob_taxable", "QQQ", 2.0, bad, day, expect_error=True)
    elif kind == "bad_section_199a":
        qualified, section_199a = data.draw(
            st.sampled_from(((0.0, -0.2), (0.0, 1.5), (0.0, math.nan), (0.7, 0.5), (1.0, 0.01))),
            label="bad")
        driver.call("distribute", "SPY", day, price, dividend=1.0, qualified_fraction=qualified,
                    section_199a_fraction=section_199a, expect_error=True)
    elif kind == "unknown_lot":
        missing = max([lot["lot_id"] for lot in lots], default=0) + 50
        driver.call(
            "sell",
            "alice_taxable",
            "SPY",
            None,
            price,
            day,
            method="specific",
            lots={missing: 1.0},
            expect_error=True,
        )
    elif kind == "oversell":
        lot = data.draw(st.sampled_from(lots), label="lot")
        held = sum(
            other["shares"]
            for other in lots
            if other["account"] == lot["account"] and other["asset"] == lot["asset"]
        )
        method = data.draw(st.sampled_from(SELL_METHODS[:-1]), label="method")
        driver.call(
            "sell",
            lot["account"],
            lot["asset"],
            held + 0.5,
            price,
            day,
            method=method,
            expect_error=True,
        )
    elif kind == "oversell_lot":
        lot = data.draw(st.sampled_from(lots), label="lot")
        driver.call(
            "sell",
            lot["account"],
            lot["asset"],
            None,
            price,
            day,
            method="specific",
            lots={lot["lot_id"]: lot["shares"] + 1.0},
            expect_error=True,
        )
    elif kind == "wrong_account_lot":
        lot = data.draw(st.sampled_from(lots), label="lot")
        other = next(name for name in ACCOUNT_NAMES if name != lot["account"])
        driver.call(
            "sell",
            other,
            lot["asset"],
            None,
            price,
            day,
            method="specific",
            lots={lot["lot_id"]: min(1.0, lot["shares"])},
            expect_error=True,
        )
    elif kind == "backwards":
        earlier = (driver.last_event_day - timedelta(days=1)).isoformat()
        driver.call("buy", "alice_taxable", "SPY", 1.0, price, earlier, expect_error=True)
    elif kind == "closed_year":
        closed = date(state.last_closed_year, 12, 31).isoformat()
        driver.call("split", "SPY", closed, 2.0, expect_error=True)
    elif kind == "reclose":
        driver.call("close_year", state.last_closed_year, expect_error=True)


EVENT_KINDS = (
    (_buy, 6),
    (_sell, 6),
    (_young_sale, 1),
    (_rebuy, 3),
    (_distribute, 3),
    (_split, 1),
    (_close_years, 1),
    (_invalid, 2),
)
#: Fund shares bought, paid, sold and rebought within months: the six-month rules of IRC
#: §852(b)(4) meet the wash-sale rule.
FUND_EVENT_KINDS = (
    (_buy, 5),
    (_sell, 8),
    (_rebuy, 3),
    (_fund_distribute, 6),
    (_split, 1),
    (_close_years, 1),
)
#: REIT shares bought, paid and sold within weeks: the 46-day test of §199A meets the 61-day
#: qualified-dividend test, splits and wash-sale pieces.
REIT_EVENT_KINDS = (
    (_taxable_buy, 4),
    (_buy, 1),
    (_sell, 2),
    (_young_sale, 4),
    (_rebuy, 2),
    (_reit_distribute, 5),
    (_young_split, 2),
    (_close_years, 1),
    (_invalid, 1),
)


def run_events(
    data: st.DataObject,
    driver: Driver,
    start: date,
    max_events: int = 30,
    event_kinds: tuple = EVENT_KINDS,
    advance: Callable[[st.DataObject, Driver, EventState], None] | None = None,
    state: EventState | None = None,
) -> EventState:
    """Draw and apply a random event sequence (kinds drawn by their weights in
    ``event_kinds``, dates moved by ``advance``, :func:`_advance_date` by default) from
    ``state`` (a new one at ``start`` by default); returns the generator's final state."""
    advance = _advance_date if advance is None else advance
    if state is None:
        state = EventState(today=start, prices=dict(START_PRICES))
    kinds = [kind for kind, weight in event_kinds for _ in range(weight)]
    n_events = data.draw(st.integers(1, max_events), label="n_events")
    for _ in range(n_events):
        advance(data, driver, state)
        event = data.draw(st.sampled_from(kinds), label="event")
        event(data, driver, state)
    while state.next_year_to_close(driver) <= state.today.year:
        year = state.next_year_to_close(driver)
        driver.call("close_year", year)
        state.last_closed_year = year
    return state


# ------------------------------------------------------------------------------ tests


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), scenario=scenarios)
def test_ledger_matches_reference(data: st.DataObject, scenario: Scenario) -> None:
    """taxsim.Ledger and the reference agree after every call of a random sequence."""
    note(repr(scenario))
    driver = Driver(build_ledgers(scenario), check=check_against_reference)
    run_events(data, driver, scenario.start)
    check_against_reference(driver, "end")
    label_section_199a(driver)


def label_section_199a(driver: Driver) -> bool:
    """Record (hypothesis ``event``) whether a sale before day 46 took a section 199A
    dividend out of its year's income in the reference, and return it."""
    failed = driver.ledgers["reference"].section_199a_failed() > 0.0
    event(f"a sale before day 46 failed the section 199A test: {failed}")
    return failed


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), scenario=scenarios)
def test_section_199a_holding_rule_matches_reference(data: st.DataObject,
                                                     scenario: Scenario) -> None:
    """The same comparison on REIT shares bought, paid and sold within weeks: section 199A
    dividends (IRC §199A(b)(1)(B), (e)(3)) fail when the shares are sold before day 46 of their
    own acquisition (Treas. Reg. §1.199A-3(c)(2)(ii), (d)(4)(ii); §246(c)(3), no wash-sale
    tacking), next to the 61-day qualified-dividend test, splits and wash-sale pieces."""
    note(repr(scenario))
    driver = Driver(build_ledgers(scenario), check=check_against_reference)
    state = EventState(today=scenario.start, prices=dict(START_PRICES))
    for _ in range(data.draw(st.integers(1, 3), label="n_buys")):  # young taxable lots
        _taxable_buy(data, driver, state)
        state.today += timedelta(days=data.draw(st.integers(0, 5), label="buy_gap"))
    state.today += timedelta(days=data.draw(st.integers(1, 20), label="ex_gap"))
    _reit_distribute(data, driver, state)  # most often on one of those young lots
    run_events(data, driver, scenario.start, max_events=50, event_kinds=REIT_EVENT_KINDS,
               advance=_advance_date_by_days, state=state)
    check_against_reference(driver, "end")
    label_section_199a(driver)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), scenario=scenarios)
def test_fund_six_month_rules_match_reference(data: st.DataObject, scenario: Scenario) -> None:
    """The same comparison on fund shares that receive exempt interest and capital gain
    distributions and are sold within months: IRC §852(b)(4)(A)-(B) with the wash-sale rule."""
    note(repr(scenario))
    driver = Driver(build_ledgers(scenario), check=check_against_reference)
    run_events(data, driver, scenario.start, max_events=60, event_kinds=FUND_EVENT_KINDS)
    check_against_reference(driver, "end")


def _capital_gain_distribute(data: st.DataObject, driver: Driver, state: EventState) -> None:
    """A long-term capital gain distribution with box 2d and box 2b parts, mostly on an asset
    a taxable account holds."""
    held = sorted({lot["asset"] for lot in _open_lots(driver)
                   if ACCOUNT_KIND[lot["account"]] == "taxable"})
    asset = data.draw(st.sampled_from(held * 3 + list(ASSETS)), label="asset")
    price = _move_price(data, state, asset)
    collectibles, unrecaptured = data.draw(st.sampled_from(CAPITAL_GAIN_PARTS[2:]),
                                           label="capital_gain_parts")
    amounts = {
        "lt_capital_gain": data.draw(st.sampled_from((0.8, 2.5, 0.2)), label="lt_cg"),
        "collectibles_fraction": collectibles,
        "unrecaptured_1250_fraction": unrecaptured,
    }
    driver.call("distribute", asset, state.today.isoformat(), price, **amounts)


collectible_scenarios = st.builds(
    Scenario,
    filing_status=st.sampled_from(FILING_STATUSES),
    loss_convention=st.sampled_from(("standalone", "offset")),
    tax_profile=st.sampled_from(("default", "historical", "by_year")),
    start=st.sampled_from((date(2012, 11, 20), date(2023, 12, 1), date(2002, 3, 1))),
    carryforward=st.sampled_from(((0.0, 0.0), (2500.0, 0.0), (0.0, 4500.0), (900.0, 700.0))),
    collectibles=st.sampled_from(COLLECTIBLE_SETS[2:]),
)
#: Long-term sales of collectibles beside other assets' gains and losses, and capital gain
#: distributions with box 2d and 2b parts: the 28% and 25% groups of IRC §1(h) and their
#: netting with short-term losses and carryovers.
COLLECTIBLE_EVENT_KINDS = (
    (_buy, 5),
    (_sell, 8),
    (_rebuy, 1),
    (_capital_gain_distribute, 3),
    (_distribute, 1),
    (_close_years, 2),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), scenario=collectible_scenarios)
def test_collectibles_and_section_1250_groups_match_reference(data: st.DataObject,
                                                              scenario: Scenario) -> None:
    """The same comparison where some assets are collectibles and capital gain distributions
    carry 28% rate gain and unrecaptured section 1250 gain (IRC §1(h)(1)(E)-(F), (4)-(6))."""
    note(repr(scenario))
    driver = Driver(build_ledgers(scenario), check=check_against_reference)
    run_events(data, driver, scenario.start, max_events=60, event_kinds=COLLECTIBLE_EVENT_KINDS)
    check_against_reference(driver, "end")
    annual = driver.ledgers["taxsim"].annual_tax()
    event(f"a 28% group taxed: {bool((annual['collectibles_gain_base'] > 0.0).any())}")
    event(f"a 25% group taxed: {bool((annual['unrecaptured_1250_gain_base'] > 0.0).any())}")


#: A profile whose long-term rate changes within a year, a start about 14 months before the
#: change, and the change day.
RATE_CHANGE_CASES = (
    ("historical", date(2002, 3, 1), date(2003, 5, 6)),
    ("historical", date(2002, 4, 20), date(2003, 5, 6)),
    ("mid_year", date(2012, 10, 1), date(2013, 12, 16)),
    ("mid_year", date(2023, 11, 1), date(2024, 12, 16)),
)
RATE_CHANGE_EVENT_KINDS = (_sell, _sell, _sell, _sell, _rebuy, _buy, _distribute)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=st.data(),
    case=st.sampled_from(RATE_CHANGE_CASES),
    loss_convention=st.sampled_from(("standalone", "offset")),
    carryforward=st.sampled_from(((0.0, 0.0), (0.0, 2500.0), (1800.0, 0.0))),
)
def test_mid_year_rate_change_matches_reference(data, case, loss_convention,
                                                carryforward) -> None:
    """Long-term gains, losses, wash sales and distributions on both sides of a change of the
    long-term rate within a year (JGTRRA 2003 §301(c)), against the reference's reading.

    Lots are bought in the first weeks; then events fall within 100 days of the change, so
    that the year's long-term results land on both sides of it.
    """
    tax_profile, start, change_day = case
    scenario = Scenario("single", loss_convention, tax_profile, start, carryforward)
    note(repr(scenario))
    driver = Driver(build_ledgers(scenario), check=check_against_reference)
    state = EventState(today=start, prices=dict(START_PRICES))
    for _ in range(data.draw(st.integers(3, 10), label="n_buys")):
        account = data.draw(st.sampled_from(ACCOUNT_NAMES[:2] * 4 + ACCOUNT_NAMES[2:]),
                            label="account")  # mostly the taxable accounts
        asset = data.draw(st.sampled_from(ASSETS), label="asset")
        shares = data.draw(st.sampled_from(SHARE_COUNTS), label="shares")
        price = _move_price(data, state, asset)
        driver.call("buy", account, asset, shares, price, state.today.isoformat())
        state.today += timedelta(days=data.draw(st.integers(0, 20), label="buy_gap"))
    offsets = data.draw(st.lists(st.integers(-100, 100), min_size=6, max_size=16),
                        label="offsets")
    for offset in sorted(offsets):
        state.today = max(state.today, change_day + timedelta(days=offset))  # _rebuy may move it
        data.draw(st.sampled_from(RATE_CHANGE_EVENT_KINDS), label="event")(data, driver, state)
    while state.next_year_to_close(driver) <= state.today.year:
        year = state.next_year_to_close(driver)
        driver.call("close_year", year)
        state.last_closed_year = year
    check_against_reference(driver, "end")
    annual = driver.ledgers["taxsim"].annual_tax()
    split = (annual["lt_gain_base_before_rate_change"] != 0.0) & (
        annual["lt_gain_after_rate_change"] != 0.0)
    event(f"long-term results on both sides of the change: {bool(split.any())}")


# ------------------------------------------------------------------------------ edge sequences

#: Hand-written sequences on the dates where the rules turn; each step is
#: ``(operation, positional arguments, keyword arguments)``.
EDGE_SEQUENCES: dict[str, list[tuple[str, tuple, dict]]] = {
    "qualified_dividend_day_60_and_61": [
        ("buy", ("alice_taxable", "QQQ", 100.0, 20.0, "2024-03-01"), {}),
        ("buy", ("bob_taxable", "QQQ", 100.0, 20.0, "2024-03-02"), {}),
        ("distribute", ("QQQ", "2024-03-15", 20.0), {"dividend": 1.0, "qualified_fraction": 0.8}),
        ("sell", ("alice_taxable", "QQQ", 50.0, 21.0, "2024-04-30"), {}),  # day 60: fails
        ("sell", ("alice_taxable", "QQQ", 50.0, 21.0, "2024-05-01"), {}),  # day 61: passes
        ("split", ("QQQ", "2024-05-01", 2.0), {}),
        ("sell", ("bob_taxable", "QQQ", 60.0, 10.5, "2024-05-01"), {}),  # day 60 after split
        ("close_year", (2024,), {}),
    ],
    "qualified_dividend_failing_across_a_closed_year": [
        ("buy", ("alice_taxable", "BND", 40.0, 10.0, "2024-12-01"), {}),
        ("distribute", ("BND", "2024-12-20", 10.0), {"dividend": 0.5, "qualified_fraction": 1.0}),
        ("close_year", (2024,), {}),
        ("sell", ("alice_taxable", "BND", 40.0, 10.5, "2025-01-15"), {}),
        ("close_year", (2025,), {}),
    ],
    "section_199a_day_45_and_46_split_and_wash_piece": [
        ("buy", ("alice_taxable", "QQQ", 100.0, 20.0, "2024-01-02"), {}),
        ("buy", ("bob_taxable", "QQQ", 100.0, 20.0, "2024-01-03"), {}),
        ("distribute", ("QQQ", "2024-02-01", 20.0),
         {"dividend": 1.0, "qualified_fraction": 0.0, "section_199a_fraction": 1.0}),
        ("split", ("QQQ", "2024-02-05", 2.0), {}),
        ("sell", ("alice_taxable", "QQQ", 100.0, 10.5, "2024-02-16"), {}),  # day 45: fails
        ("sell", ("alice_taxable", "QQQ", 100.0, 10.5, "2024-02-17"), {}),  # day 46: passes
        ("sell", ("bob_taxable", "QQQ", 200.0, 10.5, "2024-02-17"), {}),  # day 45: fails
        ("buy", ("alice_taxable", "SPY", 10.0, 100.0, "2024-03-01"), {}),  # lot 4
        ("sell", ("alice_taxable", "SPY", 10.0, 80.0, "2024-03-04"), {}),
        ("buy", ("bob_taxable", "IVV", 20.0, 80.0, "2024-03-05"), {}),  # lot 5, piece 6 washes
        ("distribute", ("IVV", "2024-03-10", 80.0),
         {"dividend": 0.5, "qualified_fraction": 0.4, "section_199a_fraction": 0.6}),
        # day 45 of the piece's own acquisition, though its tacked holding period is longer
        ("sell", ("bob_taxable", "IVV", None, 81.0, "2024-04-19"),
         {"method": "specific", "lots": {6: 10.0}}),
        ("sell", ("bob_taxable", "IVV", 10.0, 81.0, "2024-04-20"), {}),  # day 46: passes
        ("close_year", (2024,), {}),
    ],
    "section_199a_wash_piece_split_off_after_the_dividend": [
        ("buy", ("alice_taxable", "SPY", 5.0, 100.0, "2024-01-02"), {}),
        ("buy", ("bob_taxable", "IVV", 20.0, 50.0, "2024-01-02"), {}),  # lot 2
        ("distribute", ("IVV", "2024-01-10", 50.0),
         {"dividend": 1.0, "qualified_fraction": 0.0, "section_199a_fraction": 1.0}),
        ("sell", ("alice_taxable", "SPY", 5.0, 80.0, "2024-01-20"), {}),  # piece 3 of lot 2
        ("sell", ("bob_taxable", "IVV", None, 50.0, "2024-02-16"),
         {"method": "specific", "lots": {3: 5.0}}),  # day 45 of the piece: fails
        ("sell", ("bob_taxable", "IVV", 15.0, 50.0, "2024-02-17"), {}),  # day 46: passes
        ("close_year", (2024,), {}),
    ],
    "section_199a_failing_across_a_closed_year": [
        ("buy", ("alice_taxable", "BND", 40.0, 10.0, "2024-12-01"), {}),
        ("distribute", ("BND", "2024-12-20", 10.0),
         {"dividend": 0.5, "qualified_fraction": 0.0, "section_199a_fraction": 1.0}),
        ("close_year", (2024,), {}),
        ("sell", ("alice_taxable", "BND", 40.0, 10.5, "2025-01-15"), {}),  # day 45: fails
        ("close_year", (2025,), {}),
    ],
    "anniversaries_and_feb_29": [
        ("buy", ("alice_taxable", "QQQ", 10.0, 20.0, "2024-02-05"), {}),
        ("buy", ("alice_taxable", "QQQ", 10.0, 20.0, "2024-02-29"), {}),
        ("buy", ("bob_taxable", "QQQ", 10.0, 20.0, "2024-02-29"), {}),
        ("sell", ("alice_taxable", "QQQ", 5.0, 25.0, "2025-02-05"), {}),  # short
        ("sell", ("alice_taxable", "QQQ", 5.0, 25.0, "2025-02-06"), {}),  # long
        ("sell", ("alice_taxable", "QQQ", 5.0, 25.0, "2025-02-28"), {"method": "lifo"}),  # short
        ("sell", ("bob_taxable", "QQQ", 5.0, 25.0, "2025-03-01"), {}),  # long
        ("close_year", (2024,), {}),
        ("close_year", (2025,), {}),
    ],
    "wash_window_edges_before_and_after": [
        ("buy", ("alice_taxable", "SPY", 100.0, 100.0, "2024-01-02"), {}),
        ("buy", ("bob_taxable", "IVV", 10.0, 50.0, "2024-01-31"), {}),  # sale day - 31
        ("buy", ("bob_taxable", "IVV", 10.0, 50.0, "2024-02-01"), {}),  # sale day - 30
        ("sell", ("alice_taxable", "SPY", 100.0, 80.0, "2024-03-02"), {}),
        ("buy", ("alice_ira", "SPY", 20.0, 80.0, "2024-04-01"), {}),  # sale day + 30
        ("buy", ("alice_taxable", "SPY", 20.0, 80.0, "2024-04-02"), {}),  # sale day + 31
        ("close_year", (2024,), {}),
    ],
    "retroactive_into_a_closed_year_and_loss_limit": [
        ("buy", ("alice_taxable", "SPY", 300.0, 100.0, "2024-06-03"), {}),
        ("buy", ("bob_taxable", "QQQ", 300.0, 50.0, "2024-06-03"), {}),
        ("sell", ("alice_taxable", "SPY", 300.0, 80.0, "2024-12-20"), {}),  # -6,000 ST
        ("sell", ("bob_taxable", "QQQ", 300.0, 40.0, "2024-12-20"), {}),  # -3,000 ST
        ("close_year", (2024,), {}),
        ("buy", ("bob_roth", "IVV", 100.0, 40.0, "2025-01-10"), {}),  # lost in the Roth
        ("buy", ("alice_taxable", "SPY", 50.0, 85.0, "2025-01-15"), {}),
        ("sell", ("alice_taxable", "SPY", 50.0, 120.0, "2025-06-02"), {}),
        ("close_year", (2025,), {}),
        ("buy", ("alice_taxable", "BND", 10.0, 10.0, "2026-01-05"), {}),
        ("sell", ("alice_taxable", "BND", 10.0, 12.0, "2026-01-06"), {}),
        ("close_year", (2026,), {}),
    ],
    "reinvested_dividend_is_a_replacement_split_pieces": [
        ("buy", ("alice_taxable", "SPY", 100.0, 100.0, "2024-01-02"), {}),
        ("buy", ("alice_ira", "SPY", 10.0, 100.0, "2024-01-02"), {}),
        ("buy", ("alice_taxable", "SPY", 50.0, 100.0, "2024-01-03"), {}),
        ("sell", ("alice_taxable", "SPY", 70.0, 90.0, "2024-03-01"), {"method": "fifo"}),
        ("distribute", ("SPY", "2024-03-10", 90.0), {"dividend": 2.0, "qualified_fraction": 0.9}),
        ("split", ("SPY", "2024-03-11", 2.0), {}),
        ("buy", ("bob_taxable", "SPY", 15.0, 45.0, "2024-03-12"), {}),
        (
            "sell",
            ("alice_taxable", "SPY", None, 40.0, "2024-03-20"),
            {"method": "specific", "lots": {2: 2.0, 1: 10.0}},
        ),
        ("close_year", (2024,), {}),
    ],
    "return_of_capital_beyond_basis_and_average": [
        ("buy", ("alice_taxable", "BND", 10.0, 5.0, "2023-01-03"), {}),
        ("buy", ("alice_taxable", "BND", 10.0, 9.0, "2024-01-03"), {}),
        ("buy", ("bob_roth", "BND", 10.0, 9.0, "2024-01-03"), {}),
        ("distribute", ("BND", "2024-02-01", 8.0), {"return_of_capital": 6.0}),
        ("sell", ("alice_taxable", "BND", 15.0, 8.0, "2024-03-01"), {"method": "average"}),
        ("close_year", (2024,), {}),
    ],
    "sale_relieves_a_recent_lot_whose_rest_is_the_replacement": [
        ("buy", ("alice_taxable", "SPY", 10.0, 100.0, "2024-01-02"), {}),
        ("buy", ("alice_taxable", "SPY", 10.0, 90.0, "2024-03-01"), {}),
        ("sell", ("alice_taxable", "SPY", 15.0, 80.0, "2024-03-10"), {"method": "fifo"}),
        ("close_year", (2024,), {}),
    ],
    "same_day_purchases_after_the_sale": [
        ("buy", ("alice_taxable", "SPY", 10.0, 100.0, "2024-01-02"), {}),
        ("sell", ("alice_taxable", "SPY", 10.0, 80.0, "2024-03-10"), {}),
        ("buy", ("bob_taxable", "IVV", 4.0, 40.0, "2024-03-10"), {}),
        ("buy", ("alice_ira", "SPY", 4.0, 80.0, "2024-03-10"), {}),
        ("close_year", (2024,), {}),
    ],
    "two_sales_compete_for_reinvested_and_bought_shares": [
        ("buy", ("alice_taxable", "SPY", 10.0, 100.0, "2024-01-02"), {}),
        ("buy", ("bob_taxable", "SPY", 10.0, 100.0, "2024-01-02"), {}),
        ("buy", ("alice_ira", "SPY", 1.0, 100.0, "2024-01-02"), {}),
        ("sell", ("alice_taxable", "SPY", 10.0, 80.0, "2024-03-10"), {}),
        ("sell", ("bob_taxable", "SPY", 10.0, 70.0, "2024-03-12"), {}),
        ("distribute", ("SPY", "2024-03-20", 75.0), {"dividend": 100.0}),
        ("buy", ("alice_ira", "IVV", 15.0, 40.0, "2024-03-21"), {}),
        ("close_year", (2024,), {}),
    ],
    "average_pools_a_wash_adjustment": [
        ("buy", ("alice_taxable", "SPY", 10.0, 100.0, "2024-01-02"), {}),
        ("sell", ("alice_taxable", "SPY", 10.0, 80.0, "2024-03-10"), {}),
        ("buy", ("alice_taxable", "SPY", 5.0, 80.0, "2024-03-11"), {}),
        ("buy", ("alice_taxable", "SPY", 10.0, 85.0, "2024-03-12"), {}),
        ("sell", ("alice_taxable", "SPY", 7.0, 70.0, "2024-05-12"), {"method": "average"}),
        ("buy", ("bob_taxable", "SPY", 20.0, 70.0, "2024-05-13"), {}),
        ("close_year", (2024,), {}),
    ],
    "replacements_acquired_the_same_day_match_in_lot_id_order": [
        ("buy", ("alice_taxable", "SPY", 1.0, 60.0, "2012-12-20"), {}),
        ("buy", ("alice_taxable", "SPY", 1.0, 30.0, "2012-12-25"), {}),  # lot 2: replacement
        ("buy", ("alice_taxable", "SPY", 1.0, 18.0, "2012-12-25"), {}),
        ("buy", ("bob_taxable", "IVV", 1.0, 25.0, "2012-12-31"), {}),
        ("buy", ("alice_ira", "IVV", 1.0, 25.0, "2012-12-31"), {}),
        (
            "sell",
            ("alice_taxable", "SPY", None, 36.0, "2012-12-31"),
            {"method": "specific", "lots": {1: 1.0}},
        ),
        ("buy", ("alice_taxable", "SPY", 2.0, 30.0, "2013-01-02"), {}),
        (
            "sell",
            ("alice_taxable", "SPY", None, 20.0, "2013-01-03"),
            {"method": "specific", "lots": {6: 2.0}},
        ),  # loss: lots 4 then 5 replace it
        ("close_year", (2012,), {}),
        ("close_year", (2013,), {}),
    ],
    "sale_at_cost_is_no_loss_despite_rounding": [
        # 9.9 + 0.1 shares at cost: the second sale's basis and proceeds differ only by float
        # rounding (~1e-14 dollars); there is no loss, so bob's purchase is no replacement.
        ("buy", ("alice_taxable", "QQQ", 10.0, 26.73, "2024-08-22"), {}),
        ("sell", ("alice_taxable", "QQQ", 9.9, 26.73, "2024-08-25"), {}),
        ("sell", ("alice_taxable", "QQQ", 0.09999999999999964, 26.73, "2024-09-03"), {}),
        ("buy", ("bob_taxable", "QQQ", 2.5, 25.93, "2024-09-05"), {}),
        ("close_year", (2024,), {}),
    ],
}


@pytest.mark.parametrize("name", sorted(EDGE_SEQUENCES))
@pytest.mark.parametrize("loss_convention", ["standalone", "offset"])
@pytest.mark.parametrize("filing_status", ["married_joint", "married_separate"])
def test_edge_sequences_match_reference(name: str, loss_convention: str, filing_status: str):
    """Hand-written sequences on the rule edges agree call by call."""
    scenario = Scenario(filing_status, loss_convention, "historical", date(2023, 1, 2), (0, 0))
    driver = Driver(build_ledgers(scenario), check=check_against_reference)
    for operation, args, kwargs in EDGE_SEQUENCES[name]:
        driver.call(operation, *args, **kwargs)


@pytest.mark.parametrize(
    ("qualified_fraction", "section_199a_fraction"),
    [(0.0, -0.1), (0.0, 1.2), (0.0, math.nan), (0.0, math.inf), (0.7, 0.4), (1.0, 0.01)],
)
def test_bad_section_199a_fraction_is_rejected_by_both(qualified_fraction, section_199a_fraction):
    """A section 199A fraction outside [0, 1], or one that with the qualified fraction exceeds
    1 (Form 1099-DIV box 5 is never part of box 1b), is rejected by both and changes nothing;
    0.6 + 0.4 is accepted."""
    scenario = Scenario("single", "standalone", "default", date(2024, 1, 2), (0.0, 0.0))
    driver = Driver(build_ledgers(scenario), check=check_against_reference)
    driver.call("buy", "alice_taxable", "QQQ", 10.0, 20.0, "2024-01-02")
    driver.call("distribute", "QQQ", "2024-02-01", 20.0, dividend=1.0,
                qualified_fraction=qualified_fraction,
                section_199a_fraction=section_199a_fraction, expect_error=True)
    driver.call("distribute", "QQQ", "2024-02-01", 20.0, dividend=1.0, qualified_fraction=0.6,
                section_199a_fraction=0.4)
    driver.call("close_year", 2024)


CARRYFORWARD_SEQUENCE = [
    ("buy", ("alice_taxable", "QQQ", 100.0, 20.0, "2024-01-31"), {}),
    ("close_year", (2024,), {}),
    ("sell", ("alice_taxable", "QQQ", 100.0, 30.0, "2025-03-03"), {}),
    ("close_year", (2025,), {}),
]


@pytest.mark.parametrize("carryforward", [(1200.0, 0.0), (0.0, 4500.0), (2000.0, 2500.0)])
@pytest.mark.parametrize("loss_convention", ["standalone", "offset"])
def test_carryforward_from_before_the_first_year(carryforward, loss_convention):
    """A loss carried in (IRC §1212(b)) is used from the first closed year: under
    ``standalone`` within the $3,000 limit, keeping its character; under ``offset`` at once."""
    scenario = Scenario("single", loss_convention, "historical", date(2024, 1, 2), carryforward)
    driver = Driver(build_ledgers(scenario), check=check_against_reference)
    for operation, args, kwargs in CARRYFORWARD_SEQUENCE:
        driver.call(operation, *args, **kwargs)
