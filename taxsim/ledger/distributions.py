"""Distributions and splits: dividends, interest, capital-gain distributions, return of capital.

Sources: IRS Pub 550 "Dividends and Other Distributions" (ordinary, qualified, capital-gain
distributions, nondividend distributions), Form 1099-DIV boxes 1a/1b/2a/3, IRC §1(h)(11) and
§246(c) (qualified-dividend holding period), IRC §301(c)(2)-(3) (return of capital reduces
basis, the excess is gain), IRC §305(a) and §307 (stock splits: no tax, basis spread over the
new shares). Distributions are taxed only in taxable accounts, in the year of the event; the
ex-date stands in for the pay date.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from taxsim.dates import year_of_nb
from taxsim.ledger.basis_order import mark_stale_nb
from taxsim.ledger.enums import (
    CNT_SALE_ROWS,
    ERR_BAD_AMOUNT,
    ERR_BAD_PRICE,
    ERR_BAD_RATIO,
    NO_SALE_ID,
    NO_SLOT,
    OK,
    RATE_CHANGE_DAY,
    TAXABLE,
    YEAR_COLLECTIBLES_GAIN,
    YEAR_EXEMPT_INTEREST,
    YEAR_INTEREST,
    YEAR_LT_CAPITAL_GAIN_DISTRIBUTIONS,
    YEAR_LT_GAIN,
    YEAR_LT_GAIN_AFTER_RATE_CHANGE,
    YEAR_NONQUALIFIED_DIVIDENDS,
    YEAR_PROCEEDS,
    YEAR_QUALIFIED_DIVIDENDS,
    YEAR_RETURN_OF_CAPITAL,
    YEAR_SECTION_199A_DIVIDENDS,
    YEAR_ST_CAPITAL_GAIN_DISTRIBUTIONS,
    YEAR_ST_GAIN,
    YEAR_ST_GAIN_AFTER_RATE_CHANGE,
    YEAR_UNRECAPTURED_1250_GAIN,
)
from taxsim.ledger.exact_shares import exact_add_nb, exact_reset_nb
from taxsim.ledger.lots import (
    QUALIFIED_HOLDING_DAYS,
    acquire_nb,
    check_event_day_nb,
    mark_event_day_nb,
)
from taxsim.ledger.state import (
    AUDIT_ROC_BASIS_REDUCTION,
    AUDIT_ROC_EXCESS_GAIN,
    CAPITAL_GAIN_COLUMN,
    EXEMPT_INTEREST_COLUMN,
    N_PENDING_COLUMNS,
    N_PENDING_QUALIFIED,
    SECTION_199A_COLUMN,
    SIX_MONTHS_AT_MOST_DAYS,
    position_shares_nb,
    year_index_nb,
)


def write_excess_return_of_capital_row(state, slot, excess, day, long_term, year_row):
    """Write the Form 8949 row of a return of capital beyond lot ``slot``'s basis (a taxable
    account's lot): ``excess`` dollars of proceeds, no basis, no shares, ``sale_id`` 0.

    Pub 550 "Nondividend Distributions": once the basis is zero, "report ... as a capital
    gain" the distribution's excess over it, long- or short-term by the shares' holding
    period ("You reduce your basis in each share to zero and report $1 of gain. See the
    Instructions for Form 8949"); IRC §301(c)(3)(A). Form 8949 then carries every capital gain
    and loss of the year, so its lines add up to the year's Schedule D totals. No shares are
    disposed of: the row's ``shares`` is 0 and the lot stays open, its basis zero. The year's
    proceeds (Schedule D column (d)) include the excess; the gain itself is booked by the
    caller. Room for the row was checked with the event (one row per open lot at most).

    The fields are those of a sale's row (``lots.relieve``), written out in both places: one
    helper called from ``relieve``, the ledger's hottest kernel, made the ledger benchmark
    about 4% slower (three alternated pairs of 5 replays, session 32).
    """
    row = state.counters[CNT_SALE_ROWS]
    state.counters[CNT_SALE_ROWS] += 1
    state.realized[row]["sale_id"] = NO_SALE_ID
    state.realized[row]["lot_id"] = state.lot_id[slot]
    state.realized[row]["origin"] = state.lot_origin[slot]
    state.realized[row]["account"] = state.lot_account[slot]
    state.realized[row]["asset"] = state.lot_asset[slot]
    state.realized[row]["taxable"] = True
    state.realized[row]["shares"] = 0.0
    state.realized[row]["acquired"] = state.lot_acquired[slot]
    state.realized[row]["holding_start"] = state.lot_holding_start[slot]
    state.realized[row]["sold"] = day
    state.realized[row]["proceeds"] = excess
    state.realized[row]["basis"] = 0.0
    state.realized[row]["wash_disallowed"] = 0.0
    state.realized[row]["wash_lost"] = 0.0
    state.realized[row]["long_term"] = long_term
    state.realized[row]["loss_shares_open"] = 0.0
    state.realized[row]["loss_per_open_share"] = 0.0
    state.realized[row]["capital_gain_per_share"] = 0.0
    state.realized[row]["exempt_interest_disallowed"] = 0.0
    state.realized[row]["next_pending"] = NO_SLOT
    state.year_income[year_row, YEAR_PROCEEDS] += excess


write_excess_return_of_capital_row_nb = njit(cache=True, error_model="numpy")(
    write_excess_return_of_capital_row)


def add_provisional_qualified(state, slot, year, per_share, section_199a_per_share):
    """Remember a qualified dividend that a sale before day 61 would turn ordinary, and a
    section 199A dividend that a sale before day 46 would leave without the §199A deduction
    (dollars per share).

    For shares acquired before the ex-date, "more than 60 days within the 121-day window
    beginning 60 days before the ex-date" (Pub 550; §246(c)(1)) reduces to: disposal day -
    acquisition day >= 61 (acquisition day excluded, disposal day included; wash-sale tacking
    does not count, §246(c)(3)). A lot already 61 days old passes outright; a younger one
    passes unless sold before its 61st day. The qualified REIT dividend's "more than 45 days
    during the 91-day period beginning 45 days before the ex-date" (Treas. Reg.
    §1.199A-3(c)(2)(ii), (d)(4)(ii)) reduces the same way to 46 days.
    """
    # the arrays fetched once and used last unconditionally: no reference count pair per
    # call (see state.py)
    pending_year = state.lot_pending_year
    pending_per_share = state.lot_pending_per_share
    target = -1
    for k in range(N_PENDING_QUALIFIED):
        if target < 0 and pending_year[slot, k] == year:
            target = k
    found = target >= 0
    for k in range(N_PENDING_QUALIFIED):
        if target < 0 and pending_year[slot, k] == 0:
            target = k
    if target < 0:
        # A lot under 61 days old spans at most two calendar years, so a slot is always free
        # after dropping one from a year that the lot can no longer reach.
        target = 0 if pending_year[slot, 0] < pending_year[slot, 1] else 1
    earlier = pending_per_share[slot, target]
    pending_per_share[slot, target] = earlier + per_share if found else per_share
    earlier_199a = pending_per_share[slot, SECTION_199A_COLUMN + target]
    pending_per_share[slot, SECTION_199A_COLUMN + target] = (
        earlier_199a + section_199a_per_share if found else section_199a_per_share)
    pending_year[slot, target] = year


add_provisional_qualified_nb = njit(cache=True, error_model="numpy")(add_provisional_qualified)


def distribute(
    state,
    asset,
    day,
    price,
    dividend,
    qualified_fraction,
    interest,
    exempt_interest,
    st_capital_gain,
    lt_capital_gain,
    return_of_capital,
    exempt_interest_daily=False,
    section_199a_fraction=0.0,
    collectibles_fraction=0.0,
    unrecaptured_1250_fraction=0.0,
):
    """Pay a distribution of ``asset`` (all amounts dollars per share) to every open lot.

    Taxable accounts accrue, in the event's year: the qualified share of the dividend as
    qualified (subject to the holding test), the rest as non-qualified; interest as ordinary;
    exempt interest reported only; short-term capital-gain distributions as ordinary dividends;
    long-term ones as long-term capital gains on Schedule D (Pub 550 "Capital Gain
    Distributions"). Return of capital reduces each lot's basis; beyond basis it is a capital
    gain of the lot's term (Pub 550 "Nondividend Distributions"). Each account then reinvests
    its cash at ``price`` as one new lot (an acquisition for the wash-sale rule) or keeps it.
    Only lots acquired before ``day`` (the ex-date) are entitled; a lot bought on it gets
    nothing (Pub 550, "Ex-dividend date").

    Fund shares at most six months old remember their long-term capital gain distributions
    and exempt-interest dividends per share, for a loss sale within six months (IRC
    §852(b)(4)(A)-(B): ``state.six_month_loss_rule``). ``exempt_interest_daily``: the fund
    declares exempt-interest dividends daily (at least 90% of its net tax-exempt interest) and
    pays them at least monthly, so this is a regular dividend to which §852(b)(4)(B) does not
    apply (§852(b)(4)(E)(ii), added by the RIC Modernization Act of 2010).

    ``section_199a_fraction`` (fraction, with ``qualified_fraction`` at most 1) of the dividend
    is a qualified REIT dividend (IRC §199A(e)(3): a REIT dividend neither a capital gain
    dividend nor qualified dividend income) or a fund's section 199A dividend (Treas. Reg.
    §1.199A-3(d); Form 1099-DIV box 5, part of box 1a and never of box 1b). It stays a
    non-qualified dividend and also accrues as ``section_199a_dividends``, from which shares
    sold before day 46 take theirs back (the holding test of §1.199A-3(c)(2)(ii)); the annual
    tax deducts the year's rate of it (``annual_tax.compute_year_tax``).

    ``collectibles_fraction`` and ``unrecaptured_1250_fraction`` (fractions, together at most
    1) of ``lt_capital_gain`` are its 28% rate gain (Form 1099-DIV box 2d: collectibles gain,
    IRC §1(h)(4)-(5)) and its unrecaptured section 1250 gain (box 2b, §1(h)(6)); both stay
    long-term capital gain distributions and also accrue as ``collectibles_gain`` and
    ``unrecaptured_1250_gain`` (Schedule D instructions: the 28% Rate Gain Worksheet, line 4,
    and the Unrecaptured Section 1250 Gain Worksheet, line 11). On a collectible asset a
    return of capital beyond a long-term lot's basis is collectibles gain. Returns the status.
    """
    for amount in (
        dividend,
        interest,
        exempt_interest,
        st_capital_gain,
        lt_capital_gain,
        return_of_capital,
    ):
        if not (math.isfinite(amount) and amount >= 0.0):
            return ERR_BAD_AMOUNT
    if not (math.isfinite(qualified_fraction) and 0.0 <= qualified_fraction <= 1.0):
        return ERR_BAD_AMOUNT
    if not (math.isfinite(section_199a_fraction) and 0.0 <= section_199a_fraction <= 1.0
            and qualified_fraction + section_199a_fraction <= 1.0 + 1e-12):
        return ERR_BAD_AMOUNT
    if not (math.isfinite(collectibles_fraction) and 0.0 <= collectibles_fraction <= 1.0
            and math.isfinite(unrecaptured_1250_fraction)
            and 0.0 <= unrecaptured_1250_fraction <= 1.0
            and collectibles_fraction + unrecaptured_1250_fraction <= 1.0 + 1e-12):
        return ERR_BAD_AMOUNT
    if not (math.isfinite(price) and price > 0.0):
        return ERR_BAD_PRICE
    status = check_event_day_nb(state, day)
    if status != OK:
        return status
    mark_event_day_nb(state, day)
    year = year_of_nb(day)
    row = year_index_nb(year)
    after_rate_change = day >= state.rates[row, RATE_CHANGE_DAY]  # 2003 Schedule D column (g)
    per_share_cash = (
        dividend
        + interest
        + exempt_interest
        + st_capital_gain
        + lt_capital_gain
        + return_of_capital
    )
    qualified_per_share = dividend * qualified_fraction
    section_199a_per_share = dividend * section_199a_fraction
    collectibles_per_share = lt_capital_gain * collectibles_fraction
    unrecaptured_1250_per_share = lt_capital_gain * unrecaptured_1250_fraction
    collectible_asset = state.asset_collectible[asset]
    n_accounts = state.head.shape[0]
    if return_of_capital > 0.0:
        for account in range(n_accounts):
            mark_stale_nb(state, account, asset)  # every basis changes: rebuilt when needed
    account_cash = np.zeros(n_accounts)
    for account in range(n_accounts):
        taxable = state.account_kind[account] == TAXABLE
        shares_held = position_shares_nb(state, account, asset)
        if shares_held == 0.0:
            continue
        # Shares bought on the ex-date are not entitled to the distribution (Pub 550: the
        # ex-dividend date is "the first date following the declaration of a dividend on
        # which the buyer of a stock isn't entitled to receive the next dividend payment").
        # They are the newest lots, at the list's tail (the simulator applies a day's
        # distributions before its trades, so it never has any).
        bought_on_ex_date = 0.0
        slot = state.tail[account, asset]
        while slot != NO_SLOT and state.lot_acquired[slot] >= day:
            bought_on_ex_date += state.lot_shares[slot]
            slot = state.lot_prev[slot]
        if slot == NO_SLOT:
            continue  # every lot bought on the ex-date
        entitled = shares_held - bought_on_ex_date if bought_on_ex_date > 0.0 else shares_held
        account_cash[account] = entitled * per_share_cash
        if return_of_capital > 0.0:
            slot = state.head[account, asset]
            while slot != NO_SLOT and state.lot_acquired[slot] < day:
                shares = state.lot_shares[slot]
                reduction = min(shares * return_of_capital, state.lot_basis[slot])
                excess = shares * return_of_capital - reduction
                state.lot_basis[slot] -= reduction
                state.audit[AUDIT_ROC_BASIS_REDUCTION] += reduction
                if taxable and excess > 0.0:
                    state.audit[AUDIT_ROC_EXCESS_GAIN] += excess
                    long_term = day >= state.lot_long_from[slot]
                    write_excess_return_of_capital_row_nb(state, slot, excess, day, long_term,
                                                          row)
                    state.year_income[row, YEAR_LT_GAIN if long_term else YEAR_ST_GAIN] += excess
                    collectibles_excess = excess if long_term and collectible_asset else 0.0
                    state.year_income[row, YEAR_COLLECTIBLES_GAIN] += collectibles_excess
                    if after_rate_change:
                        state.year_income[row, YEAR_LT_GAIN_AFTER_RATE_CHANGE if long_term
                                          else YEAR_ST_GAIN_AFTER_RATE_CHANGE] += (
                            excess - collectibles_excess)
                slot = state.lot_next[slot]
        if not taxable:
            continue
        # The entitled shares were all acquired before the ex-date; they pass the holding
        # tests unless sold before day 61 (§246(c)(1)) or day 46 (§1.199A-3(c)(2)(ii)), so
        # only lots younger than 61 days need a look: the newest ones, at the list's tail.
        provisional = qualified_per_share > 0.0 or section_199a_per_share > 0.0
        slot = state.tail[account, asset]
        while slot != NO_SLOT and day - state.lot_acquired[slot] < QUALIFIED_HOLDING_DAYS:
            if state.lot_acquired[slot] < day and provisional:
                add_provisional_qualified_nb(state, slot, year, qualified_per_share,
                                             section_199a_per_share)
            slot = state.lot_prev[slot]
        state.year_income[row, YEAR_QUALIFIED_DIVIDENDS] += entitled * qualified_per_share
        state.year_income[row, YEAR_NONQUALIFIED_DIVIDENDS] += (
            entitled * dividend - entitled * qualified_per_share)
        state.year_income[row, YEAR_SECTION_199A_DIVIDENDS] += entitled * section_199a_per_share
        state.year_income[row, YEAR_INTEREST] += entitled * interest
        state.year_income[row, YEAR_EXEMPT_INTEREST] += entitled * exempt_interest
        state.year_income[row, YEAR_ST_CAPITAL_GAIN_DISTRIBUTIONS] += entitled * st_capital_gain
        state.year_income[row, YEAR_LT_CAPITAL_GAIN_DISTRIBUTIONS] += entitled * lt_capital_gain
        state.year_income[row, YEAR_COLLECTIBLES_GAIN] += entitled * collectibles_per_share
        state.year_income[row, YEAR_UNRECAPTURED_1250_GAIN] += (
            entitled * unrecaptured_1250_per_share)
        if after_rate_change:  # only the 20% group's rate changed (JGTRRA 2003 §301)
            state.year_income[row, YEAR_LT_GAIN_AFTER_RATE_CHANGE] += entitled * (
                lt_capital_gain - collectibles_per_share - unrecaptured_1250_per_share)
        six_month_exempt = 0.0 if exempt_interest_daily else exempt_interest
        if lt_capital_gain > 0.0 or six_month_exempt > 0.0:
            # a loss on these shares within six months is long-term up to the capital gain
            # distributions (IRC §852(b)(4)(A), §857(b)(8)) and disallowed up to the
            # exempt-interest dividends (§852(b)(4)(B)): remembered on the lots young enough
            # to be sold so
            pending_per_share = state.lot_pending_per_share
            slot = state.tail[account, asset]
            while slot != NO_SLOT and day - state.lot_acquired[slot] <= SIX_MONTHS_AT_MOST_DAYS:
                if state.lot_acquired[slot] < day:
                    pending_per_share[slot, CAPITAL_GAIN_COLUMN] += lt_capital_gain
                    pending_per_share[slot, EXEMPT_INTEREST_COLUMN] += six_month_exempt
                    state.lot_six_month_rule[slot] = True
                slot = state.lot_prev[slot]
        state.year_income[row, YEAR_RETURN_OF_CAPITAL] += entitled * return_of_capital
    for account in range(n_accounts):
        cash = account_cash[account]
        if cash <= 0.0:
            continue
        if state.account_reinvest[account]:
            acquire_nb(state, account, asset, cash / price, cash, day)
        else:
            state.cash[account] += cash
    return OK


distribute_nb = njit(cache=True, error_model="numpy")(distribute)


def split(state, asset, day, ratio):
    """Apply a stock split of ``ratio`` new shares per old share (2.0 for 2-for-1).

    No tax; each lot keeps its total basis over ``ratio`` times the shares (IRC §305(a),
    §307; Pub 550 "Stock Splits"). Open wash-sale windows of the asset and provisional
    qualified-dividend amounts are restated per new share. Returns the status.
    """
    if not (math.isfinite(ratio) and ratio > 0.0):
        return ERR_BAD_RATIO
    status = check_event_day_nb(state, day)
    if status != OK:
        return status
    mark_event_day_nb(state, day)
    for account in range(state.head.shape[0]):
        mark_stale_nb(state, account, asset)  # every basis per share changes: rebuilt
    for account in range(state.head.shape[0]):
        state.position_shares[account, asset] = np.nan  # recomputed when read
        exact_reset_nb(state.position_exact, account, asset)
        slot = state.head[account, asset]
        while slot != NO_SLOT:
            state.lot_shares[slot] *= ratio
            exact_add_nb(state.position_exact, account, asset, state.lot_shares[slot], 1)
            for k in range(N_PENDING_COLUMNS):  # with the §852(b)(4) columns
                state.lot_pending_per_share[slot, k] /= ratio
            slot = state.lot_next[slot]
    row = state.pending_head[state.asset_group[asset]]
    while row != NO_SLOT:
        record = state.realized[row]
        if record["asset"] == asset:
            record["loss_shares_open"] *= ratio
            record["loss_per_open_share"] /= ratio
        row = record["next_pending"]
    return OK


split_nb = njit(cache=True)(split)
