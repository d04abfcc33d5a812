"""Conservation laws and bounds of ``taxsim.Ledger`` on random event sequences.

The sequences come from the generator of ``tests/test_ledger_vs_reference.py`` and drive only
the numba ledger. After every accepted call:

- shares are conserved per account and asset: bought + reinvested + created by splits - sold
  = open (tracked here independently of the ledger);
- basis is conserved: basis in (purchases and reinvestments) + wash-sale losses carried to
  taxable replacements - return-of-capital basis reductions = basis relieved in sales + open
  basis; losses lost to an IRA or Roth replacement (Rev. Rul. 2008-5) are counted separately;
- no open lot has zero or negative shares, or negative basis;
- each position's kept share total (``state.position_shares``) is NaN (to be recomputed) or
  equals the exact sum of its lots' shares rounded once (``math.fsum``), and so does a read;
- no sale portion has more disallowed than its loss (IRC §1091(a) disallows the loss, never
  more), nothing is disallowed outside taxable accounts, and ``gain = proceeds - basis +
  wash_disallowed``;
- a written sale never changes except for later (retroactive) wash-sale adjustments;
- the annual tax respects the loss limit (IRC §1211(b)) and the carryover worksheet identity.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from taxsim.ledger.state import position_shares_nb as position_shares
from tests.reference.ledger import term_of
from tests.test_ledger_vs_reference import (
    ACCOUNT_SPECS,
    DOLLAR_TOLERANCE,
    SHARE_TOLERANCE,
    Driver,
    Scenario,
    annual_snapshot,
    build_ledgers,
    lot_snapshot,
    realized_snapshot,
    run_events,
    scenarios,
)

REINVESTS = {name: reinvest for name, _, _, reinvest in ACCOUNT_SPECS}
TAXABLE = {name: kind == "taxable" for name, kind, _, _ in ACCOUNT_SPECS}
DISTRIBUTION_FIELDS = (
    "dividend",
    "interest",
    "exempt_interest",
    "st_capital_gain",
    "lt_capital_gain",
    "return_of_capital",
)
LOSS_LIMITS = {"married_separate": 1500.0}


@dataclass
class Tracker:
    """Totals computed from the calls alone, without asking the ledger how it got there.

    Attributes
    ----------
    shares : dict
        Expected open shares by (account, asset).
    basis_in : float
        Dollars paid for purchases and reinvestments.
    return_of_capital_basis : float
        Basis the returns of capital should have removed: per lot, the smaller of the payment
        and the lot's basis before it (Pub 550 "Nondividend Distributions").
    return_of_capital_excess : float
        The excess over basis in taxable accounts, a capital gain.
    """

    shares: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    basis_in: float = 0.0
    return_of_capital_basis: float = 0.0
    return_of_capital_excess: float = 0.0
    realized_before: list[dict[str, Any]] = field(default_factory=list)

    def record_return_of_capital(
        self, lots: dict[int, dict[str, Any]], asset: str, day: date, amount: float
    ):
        """Split a return of capital of ``amount`` dollars per share over the lots before it
        that were bought before its date (Pub 550: a buyer on the ex-date is not entitled)."""
        for lot in lots.values():
            if lot["asset"] != asset or lot["acquired"] >= day:
                continue
            paid = lot["shares"] * amount
            self.return_of_capital_basis += min(paid, lot["basis"])
            if TAXABLE[lot["account"]]:
                self.return_of_capital_excess += max(0.0, paid - lot["basis"])

    def record(
        self, operation: str, args: tuple, kwargs: dict, result: Any,
        lots_before: dict[int, dict[str, Any]],
    ) -> None:
        """Update the totals after an accepted call (``lots_before``: the open lots before it,
        whose acquisition days tell which shares a distribution pays)."""
        if operation == "buy":
            account, asset, shares, price, _ = args
            self.shares[(account, asset)] += shares
            self.basis_in += shares * price
        elif operation == "sell":
            account, asset = args[0], args[1]
            rows = realized_snapshot(result)
            sold = sum(row["shares"] for row in rows)
            requested = args[2] if args[2] is not None else sum(kwargs["lots"].values())
            assert abs(sold - requested) <= SHARE_TOLERANCE * max(1.0, requested), (
                f"sold {sold} shares, asked for {requested}"
            )
            self.shares[(account, asset)] -= sold
        elif operation == "distribute":
            asset, day, price = args
            day = pd.Timestamp(day).date()
            cash_per_share = sum(kwargs.get(name, 0.0) for name in DISTRIBUTION_FIELDS)
            for (account, held_asset), held in list(self.shares.items()):
                if held_asset != asset or held <= SHARE_TOLERANCE:
                    continue
                # shares bought on the ex-date are not entitled (Pub 550)
                held -= sum(lot["shares"] for lot in lots_before.values()
                            if lot["account"] == account and lot["asset"] == asset
                            and lot["acquired"] >= day)
                if REINVESTS[account] and cash_per_share > 0.0 and held > SHARE_TOLERANCE:
                    self.shares[(account, asset)] += held * cash_per_share / price
                    self.basis_in += held * cash_per_share
        elif operation == "split":
            asset, _, ratio = args
            for key in self.shares:
                if key[1] == asset:
                    self.shares[key] *= ratio


class InvariantDriver(Driver):
    """A driver that feeds every accepted call to a :class:`Tracker`."""

    def __init__(self, ledgers: dict[str, Any], scenario: Scenario) -> None:
        super().__init__(ledgers, check=None)
        self.tracker = Tracker()
        self.scenario = scenario

    def call(self, operation: str, *args: Any, expect_error: bool = False, **kwargs: Any) -> Any:
        lots_before = self.snapshots()["taxsim"]["lots"]
        result = super().call(operation, *args, expect_error=expect_error, **kwargs)
        if not self.last_accepted:
            return result  # rejected: nothing happened
        self.tracker.record(operation, args, kwargs, result, lots_before)
        if operation == "distribute":
            amount = kwargs.get("return_of_capital", 0.0)
            day = pd.Timestamp(args[1]).date()
            self.tracker.record_return_of_capital(lots_before, args[0], day, amount)
        check_invariants(self, operation)
        return result


def lot_shares_in_list(state, account: int, asset: int) -> list[float]:
    """The shares of a position's open lots, walking its list."""
    shares = []
    slot = int(state.head[account, asset])
    while slot != -1:
        shares.append(float(state.lot_shares[slot]))
        slot = int(state.lot_next[slot])
    return shares


def _fail(driver: Driver, message: str) -> None:
    raise AssertionError(message + "\nafter\n  " + "\n  ".join(driver.log))


def check_invariants(driver: InvariantDriver, operation: str) -> None:
    """Every invariant of the module docstring, on the ledger's current state."""
    ledger = driver.ledgers["taxsim"]
    tracker = driver.tracker
    lots = lot_snapshot(ledger)
    realized = realized_snapshot(ledger.realized())

    # Shares conserved per account and asset; no empty or negative lot.
    open_shares: dict[tuple[str, str], float] = defaultdict(float)
    for lot_id, lot in lots.items():
        if lot["shares"] <= 0.0:
            _fail(driver, f"lot {lot_id} has {lot['shares']} shares")
        if lot["basis"] < -DOLLAR_TOLERANCE or lot["wash_adjustment"] < -DOLLAR_TOLERANCE:
            _fail(driver, f"lot {lot_id} has negative basis or wash adjustment: {lot}")
        if not lot["replacement"] and lot["holding_start"] != lot["acquired"]:
            _fail(driver, f"lot {lot_id} is no replacement but its holding period moved: {lot}")
        if lot["holding_start"] > lot["acquired"]:
            _fail(driver, f"lot {lot_id} holding period starts after acquisition: {lot}")
        open_shares[(lot["account"], lot["asset"])] += lot["shares"]
    for key in set(open_shares) | set(tracker.shares):
        expected = tracker.shares.get(key, 0.0)
        tolerance = SHARE_TOLERANCE * max(1.0, abs(expected)) * 10
        if abs(open_shares.get(key, 0.0) - expected) > tolerance:
            _fail(
                driver,
                f"shares of {key}: open {open_shares.get(key, 0.0)!r}, "
                f"bought + reinvested + split - sold = {expected!r}",
            )

    # The kept share totals: NaN or the lots' exact sum rounded once (the engine's holdings).
    state = ledger._state
    for account in range(state.head.shape[0]):
        for asset in range(state.head.shape[1]):
            kept = state.position_shares[account, asset]
            exact = math.fsum(lot_shares_in_list(state, account, asset))
            if not (math.isnan(kept) or kept == exact):
                _fail(driver, f"position ({account}, {asset}): kept {kept!r}, lots {exact!r}")
            if position_shares(state, account, asset) != exact:
                _fail(driver, f"position ({account}, {asset}): read differs from {exact!r}")

    # Sale portions: bounds on wash-sale amounts, gain identity, term.
    for row in realized:
        label = f"sale {row['sale_id']} lot {row['lot_id']}"
        loss = max(0.0, row["basis"] - row["proceeds"])
        # IRC §852(b)(4)(B) takes its part of the loss first, for good; §1091 sees the rest
        exempt = row["exempt_interest_disallowed"]
        if exempt < -DOLLAR_TOLERANCE or exempt > loss + DOLLAR_TOLERANCE:
            _fail(driver, f"{label}: exempt interest disallowed {exempt} of a {loss} loss")
        if exempt != 0.0 and not row["taxable"]:
            _fail(driver, f"{label}: exempt interest disallowed in a tax-advantaged account")
        if row["wash_disallowed"] < -DOLLAR_TOLERANCE or row["wash_disallowed"] > (
            loss - exempt + DOLLAR_TOLERANCE
        ):
            _fail(driver, f"{label}: disallowed {row['wash_disallowed']} of a {loss} loss "
                          f"({exempt} already disallowed by §852(b)(4)(B))")
        if row["wash_lost"] < -DOLLAR_TOLERANCE or row["wash_lost"] > (
            row["wash_disallowed"] + DOLLAR_TOLERANCE
        ):
            _fail(driver, f"{label}: lost {row['wash_lost']} of {row['wash_disallowed']}")
        if not row["taxable"] and row["wash_disallowed"] != 0.0:
            _fail(driver, f"{label}: wash sale in a tax-advantaged account")
        if abs(row["gain"] - (row["proceeds"] - row["basis"] + row["wash_disallowed"]
                              + exempt)) > 1e-6:
            _fail(driver, f"{label}: gain is not proceeds - basis + disallowed: {row}")
        if row["term"] != term_of(row["holding_start"], row["sold"]):
            _fail(driver, f"{label}: term {row['term']} for {row}")

    # Written sales only change by retroactive wash-sale adjustments, which only grow.
    previous = tracker.realized_before
    if len(realized) < len(previous):
        _fail(driver, "realized rows disappeared")
    for old, new in zip(previous, realized, strict=False):
        for name in ("sale_id", "lot_id", "shares", "proceeds", "basis", "sold", "acquired"):
            if old[name] != new[name]:
                _fail(driver, f"realized row changed {name}: {old} -> {new}")
        if new["wash_disallowed"] < old["wash_disallowed"] - DOLLAR_TOLERANCE:
            _fail(driver, f"disallowed loss shrank: {old} -> {new}")
    tracker.realized_before = realized

    # Basis conserved; the ledger's own audit agrees with the independent totals.
    disallowed = sum(row["wash_disallowed"] for row in realized)
    lost = sum(row["wash_lost"] for row in realized)
    relieved = sum(row["basis"] for row in realized)
    open_basis = sum(lot["basis"] for lot in lots.values())
    audit = ledger.audit()
    note(f"audit {audit}")
    tolerance = DOLLAR_TOLERANCE * (1 + len(realized) + len(lots))
    checks = {
        "basis_in": (audit["basis_in"], tracker.basis_in),
        "basis_relieved": (audit["basis_relieved"], relieved),
        "open_basis": (audit["open_basis"], open_basis),
        "wash_to_basis": (audit["wash_to_basis"], disallowed - lost),
        "wash_lost": (audit["wash_lost"], lost),
        "roc_basis_reduction": (audit["roc_basis_reduction"], tracker.return_of_capital_basis),
        "roc_excess_gain": (audit["roc_excess_gain"], tracker.return_of_capital_excess),
    }
    for name, (reported, expected) in checks.items():
        if abs(reported - expected) > tolerance:
            _fail(driver, f"audit {name}: ledger {reported!r}, independent total {expected!r}")
    balance = tracker.basis_in + (disallowed - lost) - audit["roc_basis_reduction"]
    if abs(balance - (relieved + open_basis)) > tolerance:
        _fail(
            driver,
            f"basis not conserved: in {tracker.basis_in} + carried {disallowed - lost} - "
            f"return of capital {audit['roc_basis_reduction']} = {balance}, but relieved "
            f"{relieved} + open {open_basis} = {relieved + open_basis}",
        )

    if operation == "close_year":
        check_annual(driver, realized)


def check_annual(driver: InvariantDriver, realized: list[dict[str, Any]]) -> None:
    """Annual-tax rows right after a close (IRC §1211(b), §1212(b), Schedule D worksheet)."""
    ledger = driver.ledgers["taxsim"]
    annual = annual_snapshot(ledger)
    if not annual:
        return
    limit = LOSS_LIMITS.get(driver.scenario.filing_status, 3000.0)
    standalone = driver.scenario.loss_convention == "standalone"
    for year, row in annual.items():
        if row["carryforward_st_out"] < -DOLLAR_TOLERANCE:
            _fail(driver, f"{year}: negative short-term carryforward {row}")
        if row["carryforward_lt_out"] < -DOLLAR_TOLERANCE:
            _fail(driver, f"{year}: negative long-term carryforward {row}")
        if not -DOLLAR_TOLERANCE <= row["loss_deduction"] <= limit + DOLLAR_TOLERANCE:
            _fail(driver, f"{year}: loss deduction {row['loss_deduction']} beyond {limit}")
        net = row["net_st"] + row["net_lt"]
        used = row["loss_deduction"] + row["carryforward_st_out"] + row["carryforward_lt_out"]
        if standalone and abs(used - max(0.0, -net)) > DOLLAR_TOLERANCE:
            _fail(driver, f"{year}: deduction + carryovers {used} != net loss {-net}: {row}")
        if not standalone and abs(used) > DOLLAR_TOLERANCE:
            _fail(driver, f"{year}: offset convention has a deduction or carryover: {row}")
    years = sorted(annual)
    for earlier, later in zip(years, years[1:], strict=False):
        for term in ("st", "lt"):
            out, carried = (
                annual[earlier][f"carryforward_{term}_out"],
                annual[later][f"carryforward_{term}_in"],
            )
            if abs(out - carried) > DOLLAR_TOLERANCE:
                _fail(driver, f"{term} carryforward {earlier}->{later}: {out} vs {carried}")
    total_due = sum(row["due"] for row in annual.values())
    total_tax = sum(row["total_tax"] for row in annual.values())
    if abs(total_due - total_tax) > DOLLAR_TOLERANCE * len(annual):
        _fail(driver, f"sum of due {total_due} != sum of total tax {total_tax}")
    gains = defaultdict(float)
    for row in realized:
        if row["taxable"] and row["sold"].year <= years[-1]:
            # IRC §852(b)(4)(A): part of a young fund loss counts as long-term
            moved = row["long_term_loss"]
            gains[(row["sold"].year, row["term"])] += row["gain"] - moved
            gains[(row["sold"].year, "long")] += moved
    for year in years:
        for term in ("short", "long"):
            column = "st_gain" if term == "short" else "lt_gain"
            # Annual gains = sales + return-of-capital excess (never negative).
            excess = annual[year][column] - gains.get((year, term), 0.0)
            if excess < -DOLLAR_TOLERANCE:
                _fail(
                    driver, f"{year} {column} {annual[year][column]} < sales {gains[(year, term)]}"
                )


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), scenario=scenarios)
def test_ledger_invariants(data: st.DataObject, scenario: Scenario) -> None:
    """Conservation and bounds hold after every call of a random event sequence."""
    note(repr(scenario))
    driver = InvariantDriver(build_ledgers(scenario, with_reference=False), scenario)
    run_events(data, driver, scenario.start)


def test_generator_reaches_every_event_kind() -> None:
    """Guard against a generator that silently stops producing some events."""
    pytest.importorskip("taxsim")
    seen: set[str] = set()

    @settings(max_examples=30, deadline=None, database=None)
    @given(data=st.data(), scenario=scenarios)
    def collect(data: st.DataObject, scenario: Scenario) -> None:
        driver = Driver(build_ledgers(scenario, with_reference=False))
        try:
            run_events(data, driver, scenario.start)
        except Exception:  # other tests report failures; this one only checks coverage
            pass
        seen.update(line.split("(")[0].removeprefix("ledger.") for line in driver.log)

    collect()
    assert {"buy", "sell", "distribute", "split", "close_year"} <= seen
