"""``Ledger``: the interactive face of the numba ledger (pandas in, pandas out).

Each call checks its arguments, converts them to numbers once and calls one kernel; a kernel
that refuses an event has changed nothing, and the facade raises :class:`LedgerError` naming
the account, asset, date or lot. See ``taxsim/ledger/README.md`` for the rules and conventions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from taxsim.dates import to_datetime_index, to_day, to_timestamp, year_of
from taxsim.ledger import enums
from taxsim.ledger.annual_tax import (
    close_year_nb,
    first_active_year_nb,
    liquidation_tax_nb,
    market_value_nb,
    tax_chain_nb,
)
from taxsim.ledger.distributions import distribute_nb, split_nb
from taxsim.ledger.household import Household, TaxProfile
from taxsim.ledger.lots import buy_nb, sell_nb
from taxsim.ledger.state import (
    AUDIT_FIELD_NAMES,
    NO_SLOT,
    SHARE_EPSILON,
    LedgerState,
    copy_state,
    has_room_nb,
    make_room_nb,
    new_state,
)


class LedgerError(ValueError):
    """An event the ledger refuses; the message names the item. The ledger is unchanged."""


_NO_LOTS = (np.zeros(0, np.int64), np.zeros(0, np.float64))


class Ledger:
    """A household's tax-lot ledger.

    Parameters
    ----------
    household : Household
        Accounts, filing status and wash-sale identity groups.
    assets : sequence of str
        Tickers the ledger may hold.
    tax_profile : TaxProfile, optional
        Rates by year (default: 2025 top federal rates, no state tax).
    loss_convention : {"standalone", "offset"}
        How losses are valued; named in every output (see ``annual_tax.py``).
    carryforward : (float, float)
        Capital loss carried in from before the first year, (short-term, long-term), positive
        dollars.
    collectibles : sequence of str
        Tickers among ``assets`` whose shares are collectibles (IRC §408(m)): a grantor trust
        holding physical metal (GLD, IAU, SLV) is taxed as if its holder owned the metal
        (Pub 550, "Collectibles gain or loss"). Their long-term gains and losses are
        collectibles gain or loss, taxed in the 28% group (IRC §1(h)(4)-(5); see
        ``annual_tax.compute_year_tax``); short-term ones are ordinary as for any asset.
    """

    def __init__(
        self,
        household: Household,
        assets: Sequence[str],
        tax_profile: TaxProfile | None = None,
        loss_convention: str = "standalone",
        carryforward: tuple[float, float] = (0.0, 0.0),
        collectibles: Sequence[str] = (),
    ) -> None:
        if not isinstance(household, Household):
            raise LedgerError(f"household must be a Household, got {type(household).__name__}")
        assets = tuple(assets)
        if not assets or len(set(assets)) != len(assets):
            raise LedgerError(f"assets must be unique tickers, got {list(assets)}")
        if loss_convention not in enums.LOSS_CONVENTION_CODES:
            raise LedgerError(
                f"loss_convention must be one of {sorted(enums.LOSS_CONVENTION_CODES)}, "
                f"got {loss_convention!r}"
            )
        carry_st, carry_lt = (float(value) for value in carryforward)
        if not (carry_st >= 0 and carry_lt >= 0 and math.isfinite(carry_st + carry_lt)):
            raise LedgerError(f"carryforward must be two non-negative amounts, got {carryforward}")
        self.household = household
        self.assets = assets
        self.tax_profile = tax_profile if tax_profile is not None else TaxProfile()
        self.loss_convention = loss_convention
        self._asset_index = {asset: index for index, asset in enumerate(assets)}
        if isinstance(collectibles, str):
            raise LedgerError(f"collectibles must be a sequence of tickers, got {collectibles!r}")
        collectibles = tuple(collectibles)
        unknown = [ticker for ticker in collectibles if ticker not in self._asset_index]
        if unknown:
            raise LedgerError(f"collectibles {unknown} are not among the assets {list(assets)}")
        asset_collectible = np.array([ticker in collectibles for ticker in assets], np.bool_)
        self.collectibles = tuple(np.asarray(assets, dtype=object)[asset_collectible])
        self._state: LedgerState = new_state(
            account_kind=np.array(
                [enums.ACCOUNT_KIND_CODES[a.kind] for a in household.accounts], np.int64
            ),
            account_reinvest=np.array([a.reinvest for a in household.accounts], np.bool_),
            asset_group=household.group_codes(assets),
            rates=self.tax_profile.rate_table(household.loss_limit),
            loss_convention=enums.LOSS_CONVENTION_CODES[loss_convention],
            carryforward_st=carry_st,
            carryforward_lt=carry_lt,
            asset_collectible=asset_collectible,
        )

    # ----------------------------------------------------------------- argument checks
    def _account(self, account: str) -> int:
        try:
            return self.household.account_index(account)
        except ValueError as error:
            raise LedgerError(str(error)) from None

    def _asset(self, asset: str) -> int:
        if asset not in self._asset_index:
            raise LedgerError(f"unknown asset {asset!r}; the ledger has {list(self.assets)}")
        return self._asset_index[asset]

    @staticmethod
    def _day(date) -> int:
        try:
            return to_day(date)
        except (ValueError, TypeError) as error:
            raise LedgerError(f"not a date: {date!r} ({error})") from None

    @staticmethod
    def _number(value, what: str) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise LedgerError(f"{what} must be a number, got {value!r}") from None
        return number

    def _raise(self, status: int, context: str) -> None:
        if status != enums.OK:
            raise LedgerError(f"{context}: {enums.STATUS_MESSAGES[status]}")

    def _roomy_state(self) -> LedgerState:
        """The state, grown first if one more event might not fit."""
        if not has_room_nb(self._state):
            self._state = make_room_nb(self._state)
        return self._state

    # ----------------------------------------------------------------- events
    def buy(self, account: str, asset: str, shares: float, price: float, date) -> int:
        """Buy ``shares`` of ``asset`` at ``price`` (dollars per share); returns the lot id."""
        account_index, asset_index = self._account(account), self._asset(asset)
        day = self._day(date)
        shares = self._number(shares, "shares")
        price = self._number(price, "price")
        status, lot_id = buy_nb(self._roomy_state(), account_index, asset_index, shares, price,
                                day)
        self._raise(
            status, f"buy {shares} {asset} at {price} in {account} on {to_timestamp(day).date()}"
        )
        return int(lot_id)

    def _sell_arguments(self, account, asset, shares, price, date, method, lots):
        account_index, asset_index = self._account(account), self._asset(asset)
        day = self._day(date)
        price = self._number(price, "price")
        if method not in enums.LOT_METHOD_CODES:
            raise LedgerError(
                f"lot method must be one of {sorted(enums.LOT_METHOD_CODES)}, got {method!r}"
            )
        if method == "specific":
            if not isinstance(lots, Mapping) or not lots:
                raise LedgerError("method 'specific' needs lots={lot_id: shares, ...}")
            ids = np.array([int(lot_id) for lot_id in lots], np.int64)
            amounts = np.array([self._number(v, "lot shares") for v in lots.values()], np.float64)
            total = float(amounts.sum())
            asked = total if shares is None else self._number(shares, "shares")
            if abs(asked - total) > SHARE_EPSILON * max(1.0, total):
                raise LedgerError(
                    f"sell {asked} {asset} from {account}: the lots' shares add up to "
                    f"{total}, not {asked} (lots {dict(lots)}; shares=None sells their sum)"
                )
            shares = asked
        else:
            if lots is not None:
                raise LedgerError(f"lots= is only for method 'specific', not {method!r}")
            ids, amounts = _NO_LOTS
        shares = self._number(shares, "shares")
        return (account_index, asset_index, shares, price, day,
                enums.LOT_METHOD_CODES[method], ids, amounts)

    def sell(
        self,
        account: str,
        asset: str,
        shares: float | None,
        price: float,
        date,
        method: str = "fifo",
        lots: Mapping[int, float] | None = None,
    ) -> pd.DataFrame:
        """Sell ``shares`` of ``asset`` at ``price``; returns this sale's realized rows.

        ``method``: fifo, lifo, hifo, tax_optimal, gains_first, average or specific (with
        ``lots={lot_id: shares}``; ``shares`` may then be None, meaning their sum). The
        orders are in ``taxsim/ledger/README.md`` (rule 2).
        """
        arguments = self._sell_arguments(account, asset, shares, price, date, method, lots)
        status, first_row, n_rows = sell_nb(self._roomy_state(), *arguments)
        self._raise(
            status,
            f"sell {arguments[2]} {asset} from {account} on {to_timestamp(arguments[4]).date()}"
            + (f" (lots {dict(lots)})" if lots else ""),
        )
        return self._realized_frame(first_row, first_row + n_rows)

    def what_if_sell(
        self,
        account: str,
        asset: str,
        shares: float | None,
        price: float,
        date,
        method: str = "fifo",
        lots: Mapping[int, float] | None = None,
    ) -> dict:
        """The tax impact of a proposed sale, without making it.

        Returns a dict: ``rows`` (the realized rows the sale would write, wash sales with the
        current holdings applied), ``realized_gain`` (dollars after wash-sale adjustments),
        ``tax_change`` (dollars: the year's tax with the sale minus without, under the
        ledger's loss convention and carryforwards), and ``convention``.
        """
        arguments = self._sell_arguments(account, asset, shares, price, date, method, lots)
        year = year_of(arguments[4])
        before = _year_tax_if_closed(self._state, year)
        trial = copy_state(self._roomy_state())
        status, first_row, n_rows = sell_nb(trial, *arguments)
        self._raise(status, f"what-if sell {arguments[2]} {asset} from {account}")
        after = _year_tax_if_closed(trial, year)
        rows = _realized_rows_frame(self, trial, first_row, first_row + n_rows)
        return {
            "rows": rows,
            "realized_gain": float(rows["gain"].sum()) if len(rows) else 0.0,
            "tax_change": after - before,
            "convention": self.loss_convention,
        }

    def distribute(
        self,
        asset: str,
        date,
        price: float,
        dividend: float = 0.0,
        qualified_fraction: float = 1.0,
        interest: float = 0.0,
        exempt_interest: float = 0.0,
        st_capital_gain: float = 0.0,
        lt_capital_gain: float = 0.0,
        return_of_capital: float = 0.0,
        exempt_interest_daily: bool = False,
        section_199a_fraction: float = 0.0,
        collectibles_fraction: float = 0.0,
        unrecaptured_1250_fraction: float = 0.0,
    ) -> None:
        """Pay a distribution to every holder of ``asset``; amounts in dollars per share.

        ``price`` (dollars per share) is the reinvestment price. ``qualified_fraction`` is the
        share of ``dividend`` that is qualified before the holding test.
        ``section_199a_fraction`` is the share of ``dividend`` that is a qualified REIT
        dividend (IRC §199A(e)(3)) or a fund's section 199A dividend (Form 1099-DIV box 5;
        Treas. Reg. §1.199A-3(d)) before its holding test (shares held more than 45 days in
        the 91 days from 45 days before the ex-date, §1.199A-3(c)(2)(ii)); with
        ``qualified_fraction`` it is at most 1. The annual tax deducts the year's
        ``section_199a_deduction`` (20%) of it from federal ordinary income.

        A later loss on shares held six months or less is disallowed up to the
        ``exempt_interest`` they received (IRC §852(b)(4)(B)), unless
        ``exempt_interest_daily``: the fund declares exempt-interest dividends daily and pays
        them at least monthly (§852(b)(4)(E)(ii)), as most municipal bond mutual funds do.

        ``collectibles_fraction`` and ``unrecaptured_1250_fraction`` are the shares of
        ``lt_capital_gain`` that are 28% rate gain (Form 1099-DIV box 2d: collectibles gain,
        IRC §1(h)(4)-(5)) and unrecaptured section 1250 gain (box 2b, §1(h)(6); mostly REITs);
        together at most 1. They stay long-term capital gain; the annual tax puts them in
        the 28% and 25% groups of net capital gain.
        """
        if not isinstance(exempt_interest_daily, bool | np.bool_):
            raise LedgerError(
                f"exempt_interest_daily must be True or False, got {exempt_interest_daily!r}")
        asset_index = self._asset(asset)
        day = self._day(date)
        values = [
            self._number(value, name)
            for name, value in (
                ("price", price),
                ("dividend", dividend),
                ("qualified_fraction", qualified_fraction),
                ("interest", interest),
                ("exempt_interest", exempt_interest),
                ("st_capital_gain", st_capital_gain),
                ("lt_capital_gain", lt_capital_gain),
                ("return_of_capital", return_of_capital),
            )
        ]
        section_199a_fraction = self._number(section_199a_fraction, "section_199a_fraction")
        if not 0.0 <= section_199a_fraction <= 1.0:
            raise LedgerError(f"distribution of {asset}: section_199a_fraction must be a "
                              f"fraction in [0, 1], got {section_199a_fraction!r}")
        if values[2] + section_199a_fraction > 1.0 + 1e-12:
            raise LedgerError(
                f"distribution of {asset}: qualified_fraction {values[2]!r} plus "
                f"section_199a_fraction {section_199a_fraction!r} exceeds 1 (a qualified REIT "
                "dividend is never qualified dividend income, IRC §199A(e)(3))")
        parts = {}
        for name, value in (("collectibles_fraction", collectibles_fraction),
                            ("unrecaptured_1250_fraction", unrecaptured_1250_fraction)):
            parts[name] = self._number(value, name)
            if not 0.0 <= parts[name] <= 1.0:
                raise LedgerError(f"distribution of {asset}: {name} must be a fraction in "
                                  f"[0, 1], got {value!r}")
        if sum(parts.values()) > 1.0 + 1e-12:
            raise LedgerError(
                f"distribution of {asset}: collectibles_fraction {collectibles_fraction!r} plus "
                f"unrecaptured_1250_fraction {unrecaptured_1250_fraction!r} exceeds 1 (both are "
                "parts of lt_capital_gain)")
        status = distribute_nb(self._roomy_state(), asset_index, day, *values,
                               bool(exempt_interest_daily), section_199a_fraction,
                               parts["collectibles_fraction"],
                               parts["unrecaptured_1250_fraction"])
        self._raise(status, f"distribution of {asset} on {to_timestamp(day).date()}")

    def split(self, asset: str, date, ratio: float) -> None:
        """Split ``asset``: ``ratio`` new shares per old share (2.0 for a 2-for-1)."""
        asset_index = self._asset(asset)
        day = self._day(date)
        ratio = self._number(ratio, "ratio")
        status = split_nb(self._roomy_state(), asset_index, day, ratio)
        self._raise(status, f"split of {asset} on {to_timestamp(day).date()} (ratio {ratio})")

    def close_year(self, year: int) -> float:
        """Compute ``year``'s tax; returns the amount due now (dollars, negative = refund)."""
        status, due = close_year_nb(self._state, int(year))
        self._raise(status, f"close year {year}")
        return float(due)

    # ----------------------------------------------------------------- questions
    def cash(self, account: str) -> float:
        """Cash of ``account`` (dollars): sales and kept distributions in, purchases out."""
        return float(self._state.cash[self._account(account)])

    def lots(self) -> pd.DataFrame:
        """Open lots, one row each, in account, asset and acquisition order."""
        state = self._state
        head, lot_next = state.head, state.lot_next  # fetch each array once (structref)
        slots = []
        n_accounts, n_assets = head.shape
        for account in range(n_accounts):
            for asset in range(n_assets):
                slot = head[account, asset]
                while slot != NO_SLOT:
                    slots.append(slot)
                    slot = lot_next[slot]
        slots = np.array(slots, np.int64)
        shares = state.lot_shares[slots]
        basis = state.lot_basis[slots]
        return pd.DataFrame(
            {
                "lot_id": state.lot_id[slots].astype(np.int64),  # int32 in the ledger
                "account": pd.Categorical.from_codes(
                    state.lot_account[slots], self.household.account_names
                ),
                "asset": pd.Categorical.from_codes(state.lot_asset[slots], self.assets),
                "shares": shares,
                "basis": basis,
                "basis_per_share": basis / shares,
                "acquired": to_datetime_index(state.lot_acquired[slots]),
                "holding_start": to_datetime_index(state.lot_holding_start[slots]),
                "wash_adjustment": state.lot_wash_adjustment[slots],
                "replacement": state.lot_replacement[slots],
            }
        )

    def _realized_frame(self, start: int, stop: int) -> pd.DataFrame:
        return _realized_rows_frame(self, self._state, start, stop)

    def realized(self) -> pd.DataFrame:
        """Every sold (sale, lot) portion, taxable and tax-advantaged accounts alike, and each
        taxable lot's return of capital beyond its basis (``sale_id`` 0, no shares, the excess
        as proceeds: Pub 550 "Nondividend Distributions")."""
        return self._realized_frame(0, int(self._state.counters[enums.CNT_SALE_ROWS]))

    def form_8949(self) -> pd.DataFrame:
        """Taxable sales in Form 8949 columns (Part I short-term / Part II long-term).

        ``code`` is "W" where a wash-sale loss was disallowed and "L" where a loss on fund
        shares held six months or less was disallowed up to their exempt-interest dividends
        (IRC §852(b)(4)(B); "LW" for both, codes in alphabetical order), with the disallowed
        amount as a positive ``adjustment`` (Form 8949 instructions, columns (f) and (g));
        ``gain`` = proceeds - basis + adjustment. ``box`` assumes basis reported to the IRS (A
        for short, D for long).
        A short-term loss that is partly long-term under IRC §852(b)(4)(A) (fund shares held
        six months or less that received capital gain distributions) is reported on two lines,
        Part I and Part II, its shares, proceeds, basis and adjustment split in that proportion
        (``long_term_loss_fraction``), so each Part carries its loss. ``asset``: the ticker
        sold (also in ``description``).
        A return of capital beyond a lot's basis is a line of its own (Pub 550 "Nondividend
        Distributions": report the excess as a capital gain; Form 8949 instructions): described
        as "<ticker> nondividend distribution exceeding basis", the excess as proceeds, no
        basis, dated the distribution's (ex-)date, its term by the lot's holding period.
        """
        # built from the taxable records at once (no full realized frame, no per-row lambda)
        state = self._state
        records = state.realized[: int(state.counters[enums.CNT_SALE_ROWS])]
        records = records[records["taxable"]]
        fraction = long_term_loss_fraction(records)
        split = np.flatnonzero(fraction > 0.0)
        if len(split):  # the Part II line of each split row, after its Part I line
            order = np.argsort(np.concatenate([np.arange(len(records)), split + 0.5]),
                               kind="stable")
            share = np.concatenate([1.0 - fraction, fraction[split]])[order]
            part_two = np.concatenate([np.zeros(len(records), bool),
                                       np.ones(len(split), bool)])[order]
            records = np.concatenate([records, records[split]])[order]
            for name in ("shares", "proceeds", "basis", "wash_disallowed",
                         "exempt_interest_disallowed"):
                records[name] *= share
            records["long_term"] |= part_two
        assets = self.assets
        shares, wash = records["shares"], records["wash_disallowed"]
        exempt = records["exempt_interest_disallowed"]
        code = np.char.add(np.where(exempt > 0, "L", ""), np.where(wash > 0, "W", ""))
        gain = allowed_gain(records)
        long_term = records["long_term"]
        return pd.DataFrame(
            {
                # str dtype even when empty
                "description": pd.Series(
                    [f"{s:g} sh {assets[a]}" if sale != enums.NO_SALE_ID
                     else f"{assets[a]} nondividend distribution exceeding basis"
                     for s, a, sale in zip(shares.tolist(), records["asset"].tolist(),
                                           records["sale_id"].tolist(), strict=True)],
                    dtype=str),
                "acquired": to_datetime_index(records["acquired"]),
                "sold": to_datetime_index(records["sold"]),
                "proceeds": records["proceeds"],
                "basis": records["basis"],
                "code": code.astype(str),
                "adjustment": wash + exempt,
                "gain": gain,
                "term": np.where(long_term, "long", "short"),
                "box": np.where(long_term, "D", "A"),
                "account": pd.Categorical.from_codes(
                    records["account"], self.household.account_names
                ),
                # the ticker, for readers that tax by asset (a collectible's 28% rate)
                "asset": pd.Series([assets[a] for a in records["asset"].tolist()], dtype=str),
            }
        )

    def annual_tax(self) -> pd.DataFrame:
        """One row per year from the first with income through the last closed one.

        Income columns (dollars, taxable accounts), the Schedule D results, the tax by part,
        ``total_tax`` (as recomputed at the last close, retroactive adjustments included),
        ``due`` (what was payable at that year's close) and the conventions.
        """
        state = self._state
        counters = state.counters
        last_closed = int(counters[enums.CNT_LAST_CLOSED_YEAR])
        if last_closed < enums.FIRST_YEAR:
            return pd.DataFrame(columns=["year", *enums.YEAR_FIELD_NAMES, *enums.TAX_FIELD_NAMES])
        last = last_closed - enums.FIRST_YEAR
        first = min(int(first_active_year_nb(state)), last)  # a closed year may have no income
        years = np.arange(first, last + 1)
        income = state.year_income[years]
        taxes = state.year_tax[years]
        columns: dict = {"year": years + enums.FIRST_YEAR}
        for k, name in enumerate(enums.YEAR_FIELD_NAMES):
            columns[name] = income[:, k]
        carry_st_out = taxes[:, list(enums.TAX_FIELD_NAMES).index("carryforward_st_out")]
        carry_lt_out = taxes[:, list(enums.TAX_FIELD_NAMES).index("carryforward_lt_out")]
        columns["carryforward_st_in"] = np.concatenate([[state.tax_settings[1]],
                                                        carry_st_out[:-1]])
        columns["carryforward_lt_in"] = np.concatenate([[state.tax_settings[2]],
                                                        carry_lt_out[:-1]])
        for k, name in enumerate(enums.TAX_FIELD_NAMES):
            columns[name] = taxes[:, k]
        columns["due"] = state.year_due[years]
        columns["loss_convention"] = self.loss_convention
        columns["tax_profile"] = self.tax_profile.name
        return pd.DataFrame(columns)  # built at once: column inserts copy the frame each time

    def liquidation(self, date, prices: Mapping[str, float], tax_deferred_rate: float = 0.0):
        """Tax and after-tax value if every taxable lot were sold on ``date`` at ``prices``.

        Parameters
        ----------
        prices : mapping of ticker to dollars per share
            Needed for every asset held.
        tax_deferred_rate : float
            Fraction of tax-deferred (traditional IRA) value lost to income tax on withdrawal;
            0 (default) values those accounts pre-tax. Roth accounts are never taxed.

        Returns a dict: ``market_value`` by account and in total, ``cash``,
        ``liquidation_tax`` (dollars, under the ledger's loss convention), ``tax_deferred_tax``
        and ``liquidation_value`` (market value + cash - both taxes).
        """
        day = self._day(date)
        when = f"liquidation on {to_timestamp(day).date()}"
        counters = self._state.counters
        if day < counters[enums.CNT_LAST_DAY]:
            self._raise(enums.ERR_DATE_BACKWARDS, when)
        if to_timestamp(day).year <= counters[enums.CNT_LAST_CLOSED_YEAR]:
            self._raise(enums.ERR_YEAR_CLOSED, when)
        price_array = np.full(len(self.assets), np.nan)
        for asset, price in prices.items():
            price_array[self._asset(asset)] = self._number(price, f"price of {asset}")
        held = self.lots()
        missing = sorted(set(held["asset"].astype(str)) - {a for a in prices})
        if missing:
            raise LedgerError(f"{when}: no price for {missing}")
        values = market_value_nb(self._state, np.nan_to_num(price_array))
        tax = float(liquidation_tax_nb(self._state, day, np.nan_to_num(price_array)))
        deferred = sum(
            values[i] + self._state.cash[i]
            for i, account in enumerate(self.household.accounts)
            if account.kind == "tax_deferred"
        ) * float(tax_deferred_rate)
        total_value = float(values.sum() + self._state.cash.sum())
        names = self.household.account_names
        return {
            "market_value": dict(zip(names, map(float, values), strict=True)),
            "cash": float(self._state.cash.sum()),
            "liquidation_tax": tax,
            "tax_deferred_tax": float(deferred),
            "liquidation_value": total_value - tax - float(deferred),
            "convention": self.loss_convention,
        }

    def audit(self) -> dict:
        """Running totals for conservation checks (dollars): basis in, relieved, wash-sale
        amounts carried to basis or lost, return-of-capital basis reductions and excess gains,
        and the open basis now."""
        totals = dict(zip(AUDIT_FIELD_NAMES, map(float, self._state.audit), strict=True))
        totals["open_basis"] = float(self.lots()["basis"].sum())
        return totals

    def __repr__(self) -> str:
        n_lots = len(self.lots())
        return (
            f"Ledger({len(self.household.accounts)} accounts, {len(self.assets)} assets, "
            f"{n_lots} open lots, loss convention {self.loss_convention!r}, "
            f"tax profile {self.tax_profile.name!r})"
        )


def _year_tax_if_closed(state: LedgerState, year: int) -> float:
    """``year``'s tax as if it were closed now, on a copy of the state (dollars)."""
    scratch = np.zeros((enums.N_YEARS, enums.N_TAX_FIELDS))
    row = year - enums.FIRST_YEAR
    tax_chain_nb(state, state.year_income, row, scratch)
    return float(scratch[row, enums.TAX_TOTAL])


def _realized_rows_frame(ledger: Ledger, state: LedgerState, start: int, stop: int):
    records = state.realized[start:stop]
    return pd.DataFrame(
        {
            "sale_id": records["sale_id"],
            "lot_id": records["lot_id"].astype(np.int64),
            "account": pd.Categorical.from_codes(
                records["account"], ledger.household.account_names
            ),
            "asset": pd.Categorical.from_codes(records["asset"], ledger.assets),
            "taxable": records["taxable"],
            "shares": records["shares"],
            "acquired": to_datetime_index(records["acquired"]),
            "holding_start": to_datetime_index(records["holding_start"]),
            "sold": to_datetime_index(records["sold"]),
            "proceeds": records["proceeds"],
            "basis": records["basis"],
            "wash_disallowed": records["wash_disallowed"],
            "wash_lost": records["wash_lost"],
            "exempt_interest_disallowed": records["exempt_interest_disallowed"],
            "gain": allowed_gain(records),
            "term": np.where(records["long_term"], "long", "short"),
            "long_term_loss": long_term_loss(records),
        }
    )


def allowed_gain(records: np.ndarray) -> np.ndarray:
    """Each realized row's gain after the losses disallowed on it (dollars): proceeds - basis
    + the wash-sale disallowance (IRC §1091) + the exempt-interest one (§852(b)(4)(B))."""
    return (records["proceeds"] - records["basis"] + records["wash_disallowed"]
            + records["exempt_interest_disallowed"])


def long_term_loss_fraction(records: np.ndarray) -> np.ndarray:
    """The fraction of each realized row's loss that is long-term because its shares received
    capital gain distributions and were held six months or less (IRC §852(b)(4)(A),
    §857(b)(8); Pub 550 "Loss on mutual fund or REIT stock held 6 months or less"): the
    distributions per share over the loss per share, at most 1; 0 where the rule does not
    apply. The loss is what IRC §852(b)(4)(B) left (the statute's "to the extent not
    disallowed under subparagraph (B)"). Fixed at the sale: a later wash-sale disallowance
    takes the same fraction off the long-term part (``wash_sales.book_disallowed``)."""
    per_share = records["capital_gain_per_share"]
    loss = records["basis"] - records["proceeds"] - records["exempt_interest_disallowed"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(per_share > 0.0, np.minimum(1.0, per_share * records["shares"] / loss),
                        0.0)


def long_term_loss(records: np.ndarray) -> np.ndarray:
    """The long-term part of each row's allowed loss (see :func:`long_term_loss_fraction`),
    dollars <= 0."""
    return np.minimum(0.0, allowed_gain(records) * long_term_loss_fraction(records))
