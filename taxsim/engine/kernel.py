"""The day loop: one household walked through a market, with a strategy deciding each day.

Each trading day, in this order (taxsim's contract for every run):

1. splits;
2. distributions on their ex-dates (tax accrues in the ledger; reinvested or kept as cash);
3. the day's market gain is measured (value now minus the previous record);
4. on a year's first trading day, the previous year's tax is paid (from the tax account's
   cash and that day's contributions to it, selling pro rata by the strategy's lot method,
   ``SET_TAX_SELL_METHOD``, only for the rest; or from outside);
5. scheduled external cash flows: contributions are invested at the account's targets (less
   what paid the day's tax),
   withdrawals sell the account's holdings pro rata, choosing lots tax-aware:
   ``SET_WITHDRAWAL_METHOD`` (``Strategy.withdrawal_lot_method``: ``tax_optimal`` for every
   strategy, i.e. short-term losses, long-term losses, then gains by least tax per dollar;
   FIFO for the non-managed twin). The method picks the lots within each sale only; which
   accounts and assets are sold is the same (the account's holdings, pro rata). A strategy
   that raises its own cash (``SET_STRATEGY_RAISES_CASH``: ``Strategy.raises_cash`` or
   ``invests_flows``) sees the cash below zero at step 6; what it leaves short, less the costs
   of its own trades that day, is sold the same way after step 7, by the withdrawal method
   where a withdrawal is part of the shortfall, else by the tax method. A withdrawal or
   tax payment that the account cannot raise even by selling everything stops the run
   (``SIM_SHORTFALL``, before any of it is applied) instead of overdrawing the account;
6. the strategy decides, writing orders (unless its ``idle`` test says that it has nothing to
   do today);
7. orders execute at the close, sells before buys; costs are bps of notional plus a fixed
   amount per trade; commissions are added to basis and selling costs reduce the amount
   realized (IRS Pub 550 "Basis of Investment Property", "Amount realized");
8. the advisory fee accrues on the household's value (calendar days / 365);
9. the day is recorded;
10. after a year's last trading day the ledger closes the year; the tax due is paid on the
    next trading day (at the end of the run it is reported as payable).

Conservation: end value = sum of market gains + contributions - withdrawals - taxes paid from
the portfolio - fees - costs.

The kernel is resumable: it returns the day to continue from when the trade record is full.
Written as a plain function and jitted per strategy; ``simulate_days`` itself runs un-jitted
(calling the jitted ledger) for plain-Python strategies.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from taxsim.dates import days_from_civil_nb, year_of_nb
from taxsim.engine.enums import (
    ORDER_ACCOUNT,
    ORDER_ASSET,
    ORDER_LOT_METHOD,
    ORDER_SHARES,
    PAY_FROM_PORTFOLIO,
    REASON_CASH_SHORTFALL,
    REASON_CONTRIBUTION,
    REASON_STRATEGY,
    REASON_TAX_PAYMENT,
    REASON_WITHDRAWAL,
    REC_ACCRUED_TAX,
    REC_CONTRIBUTIONS,
    REC_COSTS,
    REC_FEES,
    REC_LIQUIDATION_TAX,
    REC_MARKET_GAIN,
    REC_TAX_OUTSIDE,
    REC_TAX_PAID,
    REC_UNREALIZED_GAIN,
    REC_WITHDRAWALS,
    SET_ADVISORY_FEE_BPS,
    SET_COST_BPS,
    SET_COST_PER_TRADE,
    SET_DAILY_LIQUIDATION,
    SET_NO_TAX,
    SET_STRATEGY_INVESTS_FLOWS,
    SET_STRATEGY_RAISES_CASH,
    SET_TAX_ACCOUNT,
    SET_TAX_PAYMENT,
    SET_TAX_SELL_METHOD,
    SET_WHOLE_SHARES,
    SET_WITHDRAWAL_METHOD,
    SIM_BAD_ORDER,
    SIM_LEDGER_ERROR,
    SIM_NEED_ROOM,
    SIM_OK,
    SIM_SHORTFALL,
    SIM_TOO_MANY_ORDERS,
    TOT_CONTRIBUTIONS,
    TOT_COSTS,
    TOT_ERROR_ACCOUNT,
    TOT_ERROR_AMOUNT,
    TOT_ERROR_ORDER,
    TOT_ERROR_REASON,
    TOT_ERROR_SHORT,
    TOT_FEES,
    TOT_LAST_FEE_DAY,
    TOT_PREVIOUS_VALUE,
    TOT_TAX_DUE_PENDING,
    TOT_TAX_OUTSIDE,
    TOT_TAX_PAID,
    TOT_WITHDRAWALS,
)
from taxsim.ledger.annual_tax import close_year_nb, deferred_tax_nb
from taxsim.ledger.distributions import distribute_nb, split_nb
from taxsim.ledger.enums import FIFO, LAST_LOT_METHOD, OK, SPECIFIC
from taxsim.ledger.lots import buy_nb, sell_nb
from taxsim.ledger.state import make_room_nb, position_shares_nb, room_ok_nb


def never_idle(day_index, day, prices, holdings, cash, targets, state, params, orders):
    """The ``idle`` test of a strategy without one: decide is called every day."""
    return False


never_idle_nb = njit(cache=True)(never_idle)


def refresh_holdings(state, holdings, asset):
    """Re-read one asset's shares in every account from the ledger."""
    for account in range(holdings.shape[0]):
        holdings[account, asset] = position_shares_nb(state, account, asset)


refresh_holdings_nb = njit(cache=True)(refresh_holdings)


def refresh_reinvested_holdings(state, holdings, asset):
    """:func:`refresh_holdings` after a distribution: only accounts that reinvest acquire
    shares (the others keep theirs and take the cash), so only they are re-read."""
    for account in range(holdings.shape[0]):
        if state.account_reinvest[account]:
            holdings[account, asset] = position_shares_nb(state, account, asset)


refresh_reinvested_holdings_nb = njit(cache=True)(refresh_reinvested_holdings)


def execute_trade(state, holdings, trades, trade_count, totals, settings, day, account, asset,
                  shares, price, lot_method, reason):
    """One trade at ``price`` with costs; returns (sim status, ledger status).

    Buys pay price plus cost per share (cost in basis); sells receive price minus cost per share
    (cost reduces the amount realized). ``shares`` is signed. Whole-share mode rounds toward
    zero, except a sale of the whole holding.
    """
    if settings[SET_WHOLE_SHARES] > 0.0:
        held = holdings[account, asset]
        if not (shares < 0.0 and -shares >= held - 1e-9):
            shares = math.trunc(shares)
    if shares == 0.0:
        return SIM_OK, OK
    quantity = abs(shares)
    cost = quantity * price * settings[SET_COST_BPS] * 1e-4 + settings[SET_COST_PER_TRADE]
    if not room_ok_nb(state.counters, state.lot_shares.shape[0], state.realized.shape[0],
                      state.head.shape[0]):
        make_room_nb(state)
    if shares > 0.0:
        status, _ = buy_nb(state, account, asset, quantity, price + cost / quantity, day)
    else:
        net_price = price - cost / quantity
        if net_price <= 0.0 or quantity > holdings[account, asset] + 1e-9:
            return SIM_BAD_ORDER, OK
        # no specific lots here: empty views of scratch arrays (two allocations per sale else)
        status, _, _ = sell_nb(state, account, asset, quantity, net_price, day, lot_method,
                               state.scratch_slots[:0], state.scratch_keys[:0])
    if status != OK:
        return SIM_LEDGER_ERROR, status
    row = trade_count[0]
    trade_count[0] += 1
    trades[row]["day"] = day
    trades[row]["account"] = account
    trades[row]["asset"] = asset
    trades[row]["shares"] = shares
    trades[row]["price"] = price
    trades[row]["cost"] = cost
    trades[row]["lot_method"] = lot_method
    trades[row]["reason"] = reason
    totals[TOT_COSTS] += cost
    holdings[account, asset] = position_shares_nb(state, account, asset)
    return SIM_OK, OK


execute_trade_nb = njit(cache=True)(execute_trade)


def cash_shortfall(holdings, settings, account, amount, prices):
    """Dollars of ``amount`` that selling every holding of the account (after costs) would
    still leave unraised; 0.0 when the sales cover it (to a relative 1e-9 of rounding)."""
    proceeds = 0.0
    for asset in range(holdings.shape[1]):
        held = holdings[account, asset]
        if held > 0.0:
            notional = held * prices[asset]
            proceeds += (notional - notional * settings[SET_COST_BPS] * 1e-4
                         - settings[SET_COST_PER_TRADE])
    short = amount - proceeds
    if short > 1e-9 * max(1.0, amount):
        return short
    return 0.0


cash_shortfall_nb = njit(cache=True)(cash_shortfall)


def note_shortfall(totals, account, amount, short, reason):
    """Record what a ``SIM_SHORTFALL`` refused, for ``simulate``'s error message."""
    totals[TOT_ERROR_ACCOUNT] = account
    totals[TOT_ERROR_AMOUNT] = amount
    totals[TOT_ERROR_SHORT] = short
    totals[TOT_ERROR_REASON] = reason


note_shortfall_nb = njit(cache=True)(note_shortfall)


# dollars: float noise of a strategy raising exactly its shortfall, not a shortfall to sell for
CASH_NOISE = 1e-6


def raise_cash(state, holdings, trades, trade_count, totals, settings, day, account, amount,
               prices, reason, lot_method):
    """Sell the account's holdings pro rata to raise ``amount`` dollars after costs, relieving
    lots by ``lot_method``.

    Returns (sim status, ledger status). If selling everything cannot raise ``amount``, nothing
    is sold and the status is ``SIM_SHORTFALL`` (``TOT_ERROR_*`` say what was short). In
    whole-share mode each sale rounds up to a whole share, so the proceeds still cover it.
    """
    if amount <= 0.0:
        return SIM_OK, OK
    short = cash_shortfall_nb(holdings, settings, account, amount, prices)
    if short > 0.0:
        note_shortfall_nb(totals, account, amount, short, reason)
        return SIM_SHORTFALL, OK
    total_value = 0.0
    n_held = 0
    for asset in range(holdings.shape[1]):
        if holdings[account, asset] > 0.0:
            total_value += holdings[account, asset] * prices[asset]
            n_held += 1
    if total_value <= 0.0:
        return SIM_OK, OK
    # gross up so that the proceeds after costs cover ``amount``
    gross = (amount + n_held * settings[SET_COST_PER_TRADE]) / (
        1.0 - settings[SET_COST_BPS] * 1e-4)
    fraction = min(1.0, gross / total_value)
    whole_shares = settings[SET_WHOLE_SHARES] > 0.0
    for asset in range(holdings.shape[1]):
        held = holdings[account, asset]
        if held <= 0.0:
            continue
        shares = held if fraction >= 1.0 else held * fraction
        if whole_shares and shares < held:
            shares = min(held, math.ceil(shares - 1e-9))
        status, ledger_status = execute_trade_nb(
            state, holdings, trades, trade_count, totals, settings, day, account, asset,
            -shares, prices[asset], lot_method, reason,
        )
        if status != SIM_OK:
            return status, ledger_status
    return SIM_OK, OK


raise_cash_nb = njit(cache=True)(raise_cash)


def invest_cash(state, holdings, trades, trade_count, totals, settings, day, account, amount,
                prices, weights):
    """Buy the account's target weights with ``amount`` dollars, costs included.

    Each asset gets ``amount * weight`` dollars (weights summing below 1 leave the rest in
    cash, as the targets say); assets not listed yet leave their share in cash. The per-trade
    cost and the bps cost come out of each asset's share, so cash never goes below zero.
    """
    if amount <= 0.0:
        return SIM_OK, OK
    scale = 1.0 / (1.0 + settings[SET_COST_BPS] * 1e-4)
    for asset in range(weights.shape[0]):
        if weights[asset] <= 0.0 or not math.isfinite(prices[asset]):
            continue
        dollars = (amount * weights[asset] - settings[SET_COST_PER_TRADE]) * scale
        if dollars <= 0.0:
            continue
        status, ledger_status = execute_trade_nb(
            state, holdings, trades, trade_count, totals, settings, day, account, asset,
            dollars / prices[asset], prices[asset], 0, REASON_CONTRIBUTION,
        )
        if status != SIM_OK:
            return status, ledger_status
    return SIM_OK, OK


invest_cash_nb = njit(cache=True)(invest_cash)


def simulate_days(
    start, days, close, dividend, st_capital_gain, lt_capital_gain, return_of_capital,
    interest, split_ratio, event_day, qualified_fraction, interest_exempt, exempt_interest_daily,
    section_199a_fraction, collectibles_fraction, unrecaptured_1250_fraction, state, holdings,
    target_start,
    targets, flow_index, flow_account, flow_amount, decide, idle, params, orders, settings,
    totals, account_values, account_cash, record, trades, trade_count,
):
    """Walk days ``start`` .. end; returns ``(next_day_index, sim_status, ledger_status)``.

    Market arrays are (dates, assets); ``event_day`` (dates,) is True on the days with a split
    or a distribution of any asset (``Market.event_day``: the others skip the per-asset event
    tests); ``targets`` (schedule rows, accounts, assets) applies from ``target_start[row]``;
    flows are sorted by ``flow_index``. ``interest_exempt`` and ``exempt_interest_daily``
    (assets,) are True for a municipal bond fund's interest and for such a fund that declares
    it daily (``distributions.distribute``: IRC §852(b)(4)(B), (E)(ii));
    ``section_199a_fraction`` (assets,) is the fraction of each dividend that is a qualified
    REIT (section 199A) dividend (``Market.section_199a_fraction``, IRC §199A(e)(3));
    ``collectibles_fraction`` and ``unrecaptured_1250_fraction`` (assets,) are the fractions
    of each long-term capital gain distribution that are 28% collectibles gain and 25%
    unrecaptured section 1250 gain (``Market.collectibles_fraction`` and
    ``Market.unrecaptured_1250_fraction``; Form 1099-DIV boxes 2d and 2b, IRC §1(h)(4)-(6)).
    Whether an asset's own sales are collectibles is the ledger's (``Ledger(collectibles=)``,
    from ``Market.collectible``). Outputs
    (dates, accounts), the daily ``record`` (dates, ``N_RECORD``) and running ``totals`` are
    filled in place; ``trades`` is a record array whose used length is ``trade_count[0]``.
    Every cell of ``record``, ``account_values`` and ``account_cash`` from ``start`` on is
    written (they may come uninitialized). ``idle`` takes decide's arguments and returns True
    on days when decide would write no orders and change nothing (``Strategy.idle``;
    ``never_idle`` otherwise).
    """
    n_days, n_assets = close.shape
    n_accounts = holdings.shape[0]
    max_orders = orders.shape[0]
    no_tax = settings[SET_NO_TAX] > 0.0
    tax_account = int(settings[SET_TAX_ACCOUNT])
    tax_method = int(settings[SET_TAX_SELL_METHOD])  # lots of the engine's sales for taxes
    withdrawal_method = int(settings[SET_WITHDRAWAL_METHOD])  # ... and for withdrawals
    # a strategy that raises its own cash (or invests flows) raises what withdrawals and taxes
    # need
    strategy_raises_cash = settings[SET_STRATEGY_RAISES_CASH] > 0.0
    # an account a strategy that raises its own cash must refill: the lot method + 1 (0: none)
    short_of_cash = np.zeros(n_accounts, np.int64)
    target_row = 0
    flow = 0
    while flow < flow_index.shape[0] and flow_index[flow] < start:
        flow += 1
    # a year closes after its last trading day: the next day is on or after next_year_start
    next_year_start = 0
    if start < n_days:
        next_year_start = days_from_civil_nb(year_of_nb(days[start]) + 1, 1, 1)
    cash = state.cash  # the ledger never reallocates cash (one slot per account)
    targets_now = targets[0]  # the schedule's row in force (a view, made once per row)
    # the day's closes, copied into one buffer: a view of close made each day would cost an
    # atomic reference-count pair per day and per call it is passed to
    prices = np.empty(n_assets)
    next_target_row_start = n_days
    if target_start.shape[0] > 1:
        next_target_row_start = target_start[1]
    for t in range(start, n_days):
        # a day may trade every asset in every account, twice over (taxes and strategy)
        if trade_count[0] + 3 * n_accounts * n_assets + max_orders > trades.shape[0]:
            return t, SIM_NEED_ROOM, OK
        day = days[t]
        for asset in range(n_assets):
            prices[asset] = close[t, asset]
        if t >= next_target_row_start:
            while target_row + 1 < target_start.shape[0] and target_start[target_row + 1] <= t:
                target_row += 1
            targets_now = targets[target_row]
            next_target_row_start = n_days
            if target_row + 1 < target_start.shape[0]:
                next_target_row_start = target_start[target_row + 1]
        # 2. splits, 3. distributions
        for asset in range(n_assets if event_day[t] else 0):
            if split_ratio[t, asset] != 1.0:
                if not room_ok_nb(state.counters, state.lot_shares.shape[0],
                                  state.realized.shape[0], n_accounts):
                    make_room_nb(state)
                status = split_nb(state, asset, day, split_ratio[t, asset])
                if status != OK:
                    return t, SIM_LEDGER_ERROR, status
                refresh_holdings_nb(state, holdings, asset)
            paid = (dividend[t, asset] + st_capital_gain[t, asset] + lt_capital_gain[t, asset]
                    + return_of_capital[t, asset] + interest[t, asset])
            if paid > 0.0:
                if not room_ok_nb(state.counters, state.lot_shares.shape[0],
                                  state.realized.shape[0], n_accounts):
                    make_room_nb(state)
                taxed_interest = 0.0 if interest_exempt[asset] else interest[t, asset]
                status = distribute_nb(
                    state, asset, day, prices[asset], dividend[t, asset],
                    qualified_fraction[asset], taxed_interest, interest[t, asset] - taxed_interest,
                    st_capital_gain[t, asset], lt_capital_gain[t, asset],
                    return_of_capital[t, asset], exempt_interest_daily[asset],
                    section_199a_fraction[asset], collectibles_fraction[asset],
                    unrecaptured_1250_fraction[asset],
                )
                if status != OK:
                    return t, SIM_LEDGER_ERROR, status
                refresh_reinvested_holdings_nb(state, holdings, asset)
        # the day's market gain: price moves and distributions, before any money moves
        value_now = 0.0  # holdings plus cash, dollars
        for account in range(n_accounts):
            value_now += cash[account]
            value = 0.0  # the account's holdings, kept for the record if nothing trades today
            for asset in range(n_assets):
                if holdings[account, asset] != 0.0:
                    holding_value = holdings[account, asset] * prices[asset]
                    value_now += holding_value
                    value += holding_value
            account_values[t, account] = value
        record[t, REC_MARKET_GAIN] = value_now - totals[TOT_PREVIOUS_VALUE]
        trades_before = trade_count[0]  # every change of holdings from here on is a trade
        # 4. last year's tax, on this year's first trading day
        tax_to_contributions = 0.0  # dollars of it that today's contributions pay
        due = totals[TOT_TAX_DUE_PENDING]
        if due != 0.0:
            totals[TOT_TAX_DUE_PENDING] = 0.0
            if settings[SET_TAX_PAYMENT] == PAY_FROM_PORTFOLIO:
                # today's contributions to the tax account pay the tax before anything is sold
                # for it (selling, then investing the contribution, would be a round trip: its
                # costs, a gain realized, a loss washed by the purchase)
                incoming = 0.0
                later = flow
                while later < flow_index.shape[0] and flow_index[later] == t:
                    if flow_account[later] == tax_account and flow_amount[later] > 0.0:
                        incoming += flow_amount[later]
                    later += 1
                need = due - state.cash[tax_account] - incoming  # dollars to raise by selling
                if need > 0.0:
                    short = cash_shortfall_nb(holdings, settings, tax_account, need, prices)
                    if short > 0.0:
                        totals[TOT_TAX_DUE_PENDING] = due  # nothing of it applied
                        note_shortfall_nb(totals, tax_account, due, short, REASON_TAX_PAYMENT)
                        return t, SIM_SHORTFALL, OK
                state.cash[tax_account] -= due
                totals[TOT_TAX_PAID] += due
                if state.cash[tax_account] < 0.0 and settings[SET_STRATEGY_INVESTS_FLOWS] == 0.0:
                    tax_to_contributions = min(incoming, -state.cash[tax_account])
                if state.cash[tax_account] < 0.0 and strategy_raises_cash:
                    short_of_cash[tax_account] = tax_method + 1
                elif state.cash[tax_account] < 0.0:
                    status, ledger_status = raise_cash_nb(
                        state, holdings, trades, trade_count, totals, settings, day,
                        tax_account, -state.cash[tax_account] - tax_to_contributions, prices,
                        REASON_TAX_PAYMENT, tax_method,
                    )
                    if status != SIM_OK:
                        return t, status, ledger_status
            else:
                totals[TOT_TAX_OUTSIDE] += due
        # 5. external cash flows
        while flow < flow_index.shape[0] and flow_index[flow] == t:
            account = flow_account[flow]
            amount = flow_amount[flow]
            # tax that a contribution later today pays (step 4) is not sold for here
            awaited = tax_to_contributions if account == tax_account else 0.0
            if amount < 0.0:
                need = -(state.cash[account] + amount) - awaited  # dollars to raise by selling
                if need > 0.0:
                    short = cash_shortfall_nb(holdings, settings, account, need, prices)
                    if short > 0.0:  # refused before any of it is applied
                        note_shortfall_nb(totals, account, -amount, short, REASON_WITHDRAWAL)
                        return t, SIM_SHORTFALL, OK
            invested = amount
            if account == tax_account and amount > 0.0:  # less what paid today's tax (step 4)
                invested = amount - min(amount, tax_to_contributions)
                tax_to_contributions -= amount - invested
            state.cash[account] += amount
            status, ledger_status = SIM_OK, OK
            if amount > 0.0:
                totals[TOT_CONTRIBUTIONS] += amount
            if amount > 0.0 and settings[SET_STRATEGY_INVESTS_FLOWS] == 0.0:
                status, ledger_status = invest_cash_nb(
                    state, holdings, trades, trade_count, totals, settings, day, account,
                    invested, prices, targets[target_row, account],
                )
            elif amount < 0.0:
                totals[TOT_WITHDRAWALS] -= amount
                if state.cash[account] < 0.0 and strategy_raises_cash:
                    short_of_cash[account] = withdrawal_method + 1
                elif state.cash[account] + awaited < 0.0:
                    status, ledger_status = raise_cash_nb(
                        state, holdings, trades, trade_count, totals, settings, day, account,
                        -state.cash[account] - awaited, prices, REASON_WITHDRAWAL,
                        withdrawal_method,
                    )
            if status != SIM_OK:
                return t, status, ledger_status
            flow += 1
        # 6. the strategy, 7. execution: sells first, then buys
        strategy_trades_start = trade_count[0]
        n_orders = 0
        if not idle(t, day, prices, holdings, cash, targets_now, state, params, orders):
            n_orders = decide(t, day, prices, holdings, cash, targets_now, state, params, orders)
        if n_orders < 0 or n_orders > max_orders:
            return t, SIM_TOO_MANY_ORDERS, OK
        for side in range(2):
            for k in range(n_orders):
                shares = orders[k, ORDER_SHARES]
                if (side == 0) != (shares < 0.0):
                    continue
                totals[TOT_ERROR_ORDER] = k  # named by simulate if refused
                # compared as floats first: a NaN index fails (int(NaN) is undefined)
                account_code = orders[k, ORDER_ACCOUNT]
                asset_code = orders[k, ORDER_ASSET]
                method_code = orders[k, ORDER_LOT_METHOD]
                if not (0.0 <= account_code < n_accounts and 0.0 <= asset_code < n_assets
                        and FIFO <= method_code <= LAST_LOT_METHOD
                        and method_code == int(method_code)
                        and not (method_code == SPECIFIC and shares < 0.0)):
                    return t, SIM_BAD_ORDER, OK
                account = int(account_code)
                asset = int(asset_code)
                if not math.isfinite(prices[asset]) or not math.isfinite(shares):
                    return t, SIM_BAD_ORDER, OK
                status, ledger_status = execute_trade_nb(
                    state, holdings, trades, trade_count, totals, settings, day, account,
                    asset, shares, prices[asset], int(method_code), REASON_STRATEGY,
                )
                if status != SIM_OK:
                    return t, status, ledger_status
        totals[TOT_ERROR_ORDER] = -1.0  # later refusals are the engine's own trades
        # what a strategy that raises its own cash left short is sold pro rata, except the
        # costs of the strategy's own trades today: like any cost they may leave cash below
        # zero (the strategy does not see the run's costs; selling cents for them would realize
        # tiny gains and losses across the account)
        for account in range(n_accounts):
            if short_of_cash[account] > 0:
                method = short_of_cash[account] - 1
                short_of_cash[account] = 0
                own_costs = 0.0
                for row in range(strategy_trades_start, trade_count[0]):
                    if trades[row]["account"] == account:
                        own_costs += trades[row]["cost"]
                if state.cash[account] + own_costs < -CASH_NOISE:
                    status, ledger_status = raise_cash_nb(
                        state, holdings, trades, trade_count, totals, settings, day, account,
                        -state.cash[account] - own_costs, prices, REASON_CASH_SHORTFALL, method,
                    )
                    if status != SIM_OK:
                        return t, status, ledger_status
        # holdings are final for the day: valued again for the fee and the record if traded
        for account in range(n_accounts if trade_count[0] != trades_before else 0):
            value = 0.0
            for asset in range(n_assets):
                if holdings[account, asset] != 0.0:
                    value += holdings[account, asset] * prices[asset]
            account_values[t, account] = value
        # 8. advisory fee, accrued on calendar days and taken from each account's cash
        if settings[SET_ADVISORY_FEE_BPS] > 0.0:
            elapsed = day - totals[TOT_LAST_FEE_DAY] if totals[TOT_LAST_FEE_DAY] != 0.0 else 0.0
            rate = settings[SET_ADVISORY_FEE_BPS] * 1e-4 * elapsed / 365.0
            for account in range(n_accounts):
                fee = max(account_values[t, account] + state.cash[account], 0.0) * rate
                state.cash[account] -= fee
                totals[TOT_FEES] += fee
        totals[TOT_LAST_FEE_DAY] = day
        # 9. record
        end_value = 0.0
        for account in range(n_accounts):
            account_cash[t, account] = state.cash[account]
            end_value += account_values[t, account] + state.cash[account]
        record[t, REC_TAX_PAID] = totals[TOT_TAX_PAID]
        record[t, REC_TAX_OUTSIDE] = totals[TOT_TAX_OUTSIDE]
        record[t, REC_CONTRIBUTIONS] = totals[TOT_CONTRIBUTIONS]
        record[t, REC_WITHDRAWALS] = totals[TOT_WITHDRAWALS]
        record[t, REC_FEES] = totals[TOT_FEES]
        record[t, REC_COSTS] = totals[TOT_COSTS]
        unrealized, accrued, liquidation = 0.0, 0.0, 0.0  # every cell of the row is written
        if settings[SET_DAILY_LIQUIDATION] > 0.0 or t == n_days - 1:
            unrealized, accrued, liquidation = deferred_tax_nb(state, day, prices)
            if no_tax:
                accrued, liquidation = 0.0, 0.0
        record[t, REC_UNREALIZED_GAIN] = unrealized
        record[t, REC_ACCRUED_TAX] = accrued
        record[t, REC_LIQUIDATION_TAX] = liquidation
        totals[TOT_PREVIOUS_VALUE] = end_value
        # 10. year end
        if t == n_days - 1 or days[t + 1] >= next_year_start:
            status, due = close_year_nb(state, year_of_nb(day))
            if t < n_days - 1:
                next_year_start = days_from_civil_nb(year_of_nb(days[t + 1]) + 1, 1, 1)
            if status != OK:
                return t, SIM_LEDGER_ERROR, status
            if not no_tax:
                totals[TOT_TAX_DUE_PENDING] += due
    return n_days, SIM_OK, OK
