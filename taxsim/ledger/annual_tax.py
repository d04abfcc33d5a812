"""Annual tax per household and calendar year; liquidation tax.

Sources: Schedule D (Form 1040) and its instructions, including the Capital Loss Carryover
Worksheet; IRC §1211(b) ($3,000 / $1,500 limit) and §1212(b) (carryforward keeping its
character); IRC §1(h) (preferential rates on net capital gain and qualified dividends; its 28%
group of collectibles gain, §1(h)(4)-(5), and 25% group of unrecaptured section 1250 gain,
§1(h)(6), with the Schedule D instructions' worksheets for them); IRC §1411 and Form 8960 (3.8%
net investment income tax); Pub 550 ch. 4 (ordinary vs preferential income); IRC §199A(b)(1)(B)
(20% of qualified REIT dividends deducted, from 2018). The household is assumed to have enough
other income that the loss deduction is used in full and that NIIT applies to all investment
income (a top-bracket household); the state tax is a flat rate on the same base as federal. A
long-term rate that changes within a year follows the transitional rule of the Jobs and Growth
Tax Relief Reconciliation Act of 2003 (Pub. L. 108-27, §301(c); the 2003 Schedule D's column
(g)): see ``compute_year_tax``.

Two loss conventions (``tax_settings[0]``):

* ``STANDALONE``: only this household's own gains absorb losses; net losses beyond the
  limit carry forward.
* ``OFFSET``: the SEC Form N-1A and academic convention: outside gains of the same character
  absorb every loss, so a loss is worth its own rate at once (no netting across terms, no
  limit, no carryforward; the tax may be negative).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from taxsim.dates import year_of_nb
from taxsim.ledger.enums import (
    CNT_FIRST_YEAR,
    CNT_LAST_CLOSED_YEAR,
    ERR_YEAR_CLOSED,
    ERR_YEAR_RANGE,
    FIRST_YEAR,
    N_TAX_FIELDS,
    N_YEARS,
    NO_SLOT,
    OFFSET,
    OK,
    RATE_CHANGE_DAY,
    RATE_COLLECTIBLES,
    RATE_LONG_TERM,
    RATE_LONG_TERM_BEFORE_CHANGE,
    RATE_LOSS_LIMIT,
    RATE_NIIT,
    RATE_ORDINARY,
    RATE_QUALIFIED_DIVIDEND,
    RATE_SECTION_199A_DEDUCTION,
    RATE_STATE,
    RATE_UNRECAPTURED_1250,
    TAX_CARRY_LT_OUT,
    TAX_CARRY_ST_OUT,
    TAX_COLLECTIBLES_BASE,
    TAX_FEDERAL_ORDINARY,
    TAX_FEDERAL_PREFERENTIAL,
    TAX_LOSS_DEDUCTION,
    TAX_LT_GAIN_BASE,
    TAX_LT_GAIN_BASE_BEFORE_RATE_CHANGE,
    TAX_NET_LT,
    TAX_NET_ST,
    TAX_NIIT,
    TAX_ORDINARY_BASE,
    TAX_QUALIFIED_BASE,
    TAX_SECTION_199A_DEDUCTION,
    TAX_STATE,
    TAX_TOTAL,
    TAX_UNRECAPTURED_1250_BASE,
    TAXABLE,
    YEAR_COLLECTIBLES_GAIN,
    YEAR_INTEREST,
    YEAR_LT_CAPITAL_GAIN_DISTRIBUTIONS,
    YEAR_LT_GAIN,
    YEAR_LT_GAIN_AFTER_RATE_CHANGE,
    YEAR_NONQUALIFIED_DIVIDENDS,
    YEAR_QUALIFIED_DIVIDENDS,
    YEAR_SECTION_199A_DIVIDENDS,
    YEAR_ST_CAPITAL_GAIN_DISTRIBUTIONS,
    YEAR_ST_GAIN,
    YEAR_ST_GAIN_AFTER_RATE_CHANGE,
    YEAR_UNRECAPTURED_1250_GAIN,
)
from taxsim.ledger.state import (
    QUALIFIED_HOLDING_DAYS,
    reclassify_early_sale_dividends_nb,
    sale_gain_by_term_nb,
    year_index_nb,
)


def compute_year_tax(income, carry_st_in, carry_lt_in, rates, convention, out):
    """Tax of one year from its income row; fills ``out`` (N_TAX_FIELDS, dollars).

    Parameters
    ----------
    income : float64 array (N_YEAR_FIELDS,)
        The year's realized gains and distributions (taxable accounts), dollars.
    carry_st_in, carry_lt_in : float
        Capital loss carried in, as positive dollars (short-term, long-term).
    rates : float64 array (N_RATE_FIELDS,)
        The year's rates (fractions) and loss limit (dollars).
    convention : int
        ``STANDALONE`` or ``OFFSET``.
    """
    ordinary_income = (
        income[YEAR_INTEREST]
        + income[YEAR_NONQUALIFIED_DIVIDENDS]
        + income[YEAR_ST_CAPITAL_GAIN_DISTRIBUTIONS]
    )
    qualified = income[YEAR_QUALIFIED_DIVIDENDS]
    # Schedule D lines 7 and 15: each term netted with its own carryover first.
    net_st = income[YEAR_ST_GAIN] - carry_st_in
    net_lt = income[YEAR_LT_GAIN] + income[YEAR_LT_CAPITAL_GAIN_DISTRIBUTIONS] - carry_lt_in
    deduction = 0.0
    carry_st_out = 0.0
    carry_lt_out = 0.0
    if convention == OFFSET:
        st_base = net_st
        lt_base = net_lt
    else:
        st_base = 0.0
        lt_base = 0.0
        if net_st >= 0.0 and net_lt >= 0.0:
            st_base = net_st
            lt_base = net_lt
        elif net_st + net_lt >= 0.0:
            # one term's loss absorbs the other's gain; the remaining gain keeps its character
            if net_lt > 0.0:
                lt_base = net_st + net_lt
            else:
                st_base = net_st + net_lt
        else:
            # Schedule D line 21 and the Capital Loss Carryover Worksheet (Pub 550 ch. 4)
            deduction = min(rates[RATE_LOSS_LIMIT], -(net_st + net_lt))
            st_loss = max(0.0, -net_st)
            lt_loss = max(0.0, -net_lt)
            st_gain = max(0.0, net_st)
            lt_gain = max(0.0, net_lt)
            carry_st_out = max(0.0, st_loss - (lt_gain + deduction))
            carry_lt_out = max(0.0, lt_loss - (st_gain + max(0.0, deduction + lt_gain - st_loss)))
    ordinary_base = ordinary_income + st_base - deduction
    investment_income = ordinary_base + lt_base + qualified
    # Net capital gain's 25% and 28% groups (IRC §1(h)(1)(E)-(F)); the rest of it is adjusted
    # net capital gain (§1(h)(3)), at the long-term rate. Standalone: the 28-percent rate gain
    # is long-term collectibles gain less the net short-term loss (carryover included) and the
    # long-term carryover (§1(h)(4); 28% Rate Gain Worksheet); unrecaptured section 1250 gain
    # is reduced by what those reductions leave over (§1(h)(6)(A); Unrecaptured Section 1250
    # Gain Worksheet); within the net capital gain the 25% group comes first (Schedule D Tax
    # Worksheet lines 11-13 and 33-42). Under OFFSET each group is its own signed net.
    collectibles = income[YEAR_COLLECTIBLES_GAIN]
    unrecaptured = income[YEAR_UNRECAPTURED_1250_GAIN]
    if convention == OFFSET:
        unrecaptured_base = unrecaptured
        collectibles_base = collectibles
    else:
        reductions = max(0.0, -net_st) + carry_lt_in
        rate_gain_28 = max(0.0, collectibles - reductions)
        rate_gain_25 = max(0.0, unrecaptured - max(0.0, reductions - collectibles))
        unrecaptured_base = min(rate_gain_25, lt_base)
        collectibles_base = min(rate_gain_28, lt_base - unrecaptured_base)
    adjusted_base = lt_base - unrecaptured_base - collectibles_base
    # A long-term rate that changes within the year (JGTRRA 2003 §301(c); zero in other
    # years): the new rate takes the net capital gain of the days from the change (2003
    # Schedule D column (g): long-term gains and distributions less a net short-term loss of
    # those days, carryovers excluded), up to the year's; the rest keeps the earlier rate.
    # Under OFFSET each part is its own signed net.
    lt_before_base = 0.0
    if rates[RATE_CHANGE_DAY] < np.inf:
        # the after-change sums leave out the 25% and 28% groups, whose rates did not change
        lt_after = income[YEAR_LT_GAIN_AFTER_RATE_CHANGE]
        st_after = income[YEAR_ST_GAIN_AFTER_RATE_CHANGE]
        if convention == OFFSET:
            lt_before_base = adjusted_base - lt_after
        else:
            lt_before_base = adjusted_base - min(max(0.0, lt_after + min(0.0, st_after)),
                                                 adjusted_base)
    # IRC §199A(a), (b)(1)(B): a deduction of the year's rate (20% from 2018) of the qualified
    # REIT dividends, which are in ordinary_base. Federal only: it does not reduce net
    # investment income (Treas. Reg. §1.199A-1(e)(3)), nor the state's base (not an AGI
    # deduction, IRC §62(a)). Its limit of 20% of taxable income less net capital gain
    # (§199A(a)(2)) is taken not to bind: the household's other income is top-bracket.
    section_199a_deduction = (
        income[YEAR_SECTION_199A_DIVIDENDS] * rates[RATE_SECTION_199A_DEDUCTION])
    federal_ordinary = (ordinary_base - section_199a_deduction) * rates[RATE_ORDINARY]
    # 28% and 25% are maximums (§1(h)(1) caps the tax): a lower ordinary rate applies instead
    federal_preferential = (
        (adjusted_base - lt_before_base) * rates[RATE_LONG_TERM]
        + lt_before_base * rates[RATE_LONG_TERM_BEFORE_CHANGE]
        + unrecaptured_base * min(rates[RATE_ORDINARY], rates[RATE_UNRECAPTURED_1250])
        + collectibles_base * min(rates[RATE_ORDINARY], rates[RATE_COLLECTIBLES])
        + qualified * rates[RATE_QUALIFIED_DIVIDEND]
    )
    if convention == OFFSET:
        niit = investment_income * rates[RATE_NIIT]
    else:
        niit = max(0.0, investment_income) * rates[RATE_NIIT]  # Form 8960 line 12 floor
    state_tax = investment_income * rates[RATE_STATE]
    out[TAX_NET_ST] = net_st
    out[TAX_NET_LT] = net_lt
    out[TAX_LOSS_DEDUCTION] = deduction
    out[TAX_CARRY_ST_OUT] = carry_st_out
    out[TAX_CARRY_LT_OUT] = carry_lt_out
    out[TAX_ORDINARY_BASE] = ordinary_base
    out[TAX_LT_GAIN_BASE] = lt_base
    out[TAX_QUALIFIED_BASE] = qualified
    out[TAX_FEDERAL_ORDINARY] = federal_ordinary
    out[TAX_FEDERAL_PREFERENTIAL] = federal_preferential
    out[TAX_NIIT] = niit
    out[TAX_STATE] = state_tax
    out[TAX_TOTAL] = federal_ordinary + federal_preferential + niit + state_tax
    out[TAX_LT_GAIN_BASE_BEFORE_RATE_CHANGE] = lt_before_base
    out[TAX_SECTION_199A_DEDUCTION] = section_199a_deduction
    out[TAX_UNRECAPTURED_1250_BASE] = unrecaptured_base
    out[TAX_COLLECTIBLES_BASE] = collectibles_base


compute_year_tax_nb = njit(cache=True)(compute_year_tax)


def first_active_year(state):
    """Row of the first year the tax chain covers: the first event's year, or, before any
    event, the year after the last close."""
    if state.counters[CNT_FIRST_YEAR] != 0:
        return year_index_nb(state.counters[CNT_FIRST_YEAR])
    return year_index_nb(state.counters[CNT_LAST_CLOSED_YEAR] + 1)


first_active_year_nb = njit(cache=True)(first_active_year)


def tax_chain(state, income, through_row, out):
    """Tax of every year from the first active one through ``through_row`` into ``out``.

    The carryforward of each year feeds the next (IRC §1212(b)). Returns the total tax, dollars.
    """
    convention = int(state.tax_settings[0])
    carry_st = state.tax_settings[1]
    carry_lt = state.tax_settings[2]
    total = 0.0
    start = min(first_active_year_nb(state), through_row)
    for row in range(start, through_row + 1):
        compute_year_tax_nb(income[row], carry_st, carry_lt, state.rates[row], convention, out[row])
        carry_st = out[row, TAX_CARRY_ST_OUT]
        carry_lt = out[row, TAX_CARRY_LT_OUT]
        total += out[row, TAX_TOTAL]
    return total


tax_chain_nb = njit(cache=True)(tax_chain)


def close_year(state, year):
    """Compute ``year``'s tax and record the amount due; returns ``(status, due)``.

    Due = all tax computed through ``year`` (carryforwards chained) minus all tax paid at earlier
    closes, so a retroactive wash-sale adjustment of a closed year is settled here. Later events
    must be dated after ``year``.
    """
    if year <= state.counters[CNT_LAST_CLOSED_YEAR]:
        return ERR_YEAR_CLOSED, 0.0
    if year < FIRST_YEAR or year >= FIRST_YEAR + N_YEARS:
        return ERR_YEAR_RANGE, 0.0
    row = year_index_nb(year)
    total = tax_chain_nb(state, state.year_income, row, state.year_tax)
    paid = 0.0
    for earlier in range(row):
        paid += state.year_due[earlier]
    due = total - paid
    state.year_due[row] = due
    state.counters[CNT_LAST_CLOSED_YEAR] = year
    return OK, due


close_year_nb = njit(cache=True)(close_year)


def deferred_tax(state, day, prices):
    """What the household owes if it closed its books on ``day`` at ``prices`` (dollars).

    Returns ``(unrealized_gain, accrued_tax, liquidation_tax)``:

    - ``unrealized_gain``: market value minus basis of the open taxable lots (only taxable
      accounts are taxed on sale; IRC §1001);
    - ``accrued_tax``: tax on the year's realized results and distributions so far that no
      close has charged yet (the year is taxed as if it ended today; carryforwards chained,
      IRC §1212(b));
    - ``liquidation_tax``: the extra tax if every open taxable lot were sold on ``day``
      (negative when the losses are worth a refund under the convention). The hypothetical
      sales follow the sale rules: a lot sold before its 61st day turns its provisional
      qualified dividends ordinary (§246(c)), one sold before its 46th day loses the §199A
      deduction on its provisional section 199A dividends (Treas. Reg. §1.199A-3(c)(2)(ii)),
      and a loss on a lot held six months or less is
      disallowed up to its exempt-interest dividends (§852(b)(4)(B)), what is left of a
      short-term one being long-term up to its capital gain distributions (§852(b)(4)(A); see
      ``lots.relieve``).
    """
    year = year_of_nb(day)
    row = year_index_nb(year)
    income = state.year_income.copy()
    after_rate_change = day >= state.rates[row, RATE_CHANGE_DAY]
    unrealized = 0.0
    for account in range(state.head.shape[0]):
        if state.account_kind[account] != TAXABLE:
            continue
        for asset in range(state.head.shape[1]):
            collectible = state.asset_collectible[asset]
            slot = state.head[account, asset]
            while slot != NO_SLOT:
                shares = state.lot_shares[slot]
                gain = prices[asset] * shares - state.lot_basis[slot]
                unrealized += gain
                short_term_gain, long_term_gain = sale_gain_by_term_nb(state, slot, shares,
                                                                       gain, day)
                income[row, YEAR_ST_GAIN] += short_term_gain
                income[row, YEAR_LT_GAIN] += long_term_gain
                # a collectible held more than a year (IRC §1(h)(5)), as lots.relieve books it
                collectibles_gain = (
                    long_term_gain if collectible and day >= state.lot_long_from[slot] else 0.0)
                income[row, YEAR_COLLECTIBLES_GAIN] += collectibles_gain
                if after_rate_change:
                    income[row, YEAR_ST_GAIN_AFTER_RATE_CHANGE] += short_term_gain
                    income[row, YEAR_LT_GAIN_AFTER_RATE_CHANGE] += (
                        long_term_gain - collectibles_gain)
                if day - state.lot_acquired[slot] < QUALIFIED_HOLDING_DAYS:
                    reclassify_early_sale_dividends_nb(state, income, slot, shares, day)
                slot = state.lot_next[slot]
    scratch = np.zeros((N_YEARS, N_TAX_FIELDS))
    with_sales = tax_chain_nb(state, income, row, scratch)
    without_sales = tax_chain_nb(state, state.year_income, row, scratch)
    charged = 0.0
    for earlier in range(row + 1):
        charged += state.year_due[earlier]
    return unrealized, without_sales - charged, with_sales - without_sales


deferred_tax_nb = njit(cache=True)(deferred_tax)


def liquidation_tax(state, day, prices):
    """Tax due if every open taxable lot were sold at ``prices`` (dollars per share) on ``day``.

    The sales join ``day``'s year with its realized results and carryforwards; the answer is
    that year's tax with them minus without (dollars; negative when the losses are worth a
    refund under the convention). Hypothetical sales ignore wash sales.
    """
    return deferred_tax_nb(state, day, prices)[2]


liquidation_tax_nb = njit(cache=True)(liquidation_tax)




def market_value(state, prices):
    """Market value of the open lots by account (dollars), at ``prices``."""
    n_accounts, n_assets = state.head.shape
    values = np.zeros(n_accounts)
    for account in range(n_accounts):
        for asset in range(n_assets):
            slot = state.head[account, asset]
            while slot != NO_SLOT:
                values[account] += prices[asset] * state.lot_shares[slot]
                slot = state.lot_next[slot]
    return values


market_value_nb = njit(cache=True)(market_value)
