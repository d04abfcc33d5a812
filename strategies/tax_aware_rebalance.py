"""Tax-aware rebalancing: toward the targets only as far as a tax budget allows.

On the first trading day of each period (monthly, quarterly or yearly) the strategy moves the
**household** toward its targets, in this order:

1. **Tax-advantaged accounts first.** The per-account targets are summed into household target
   dollars, ``T[i] = sum over accounts of targets[a, i] × investable[a]``, and compared with
   the household's holdings ``H[i]``. An asset held above its household target is first sold in
   the tax-deferred and tax-exempt accounts (no tax), as far as they hold it; so when the same
   asset sits in an IRA and in the taxable account, the IRA does the trade. The accounts then
   no longer sit at their own targets, but the household does.
2. **Taxable sales last, losses first, within the tax budget.** What the advantaged accounts
   cannot absorb is sold in taxable accounts. Candidate (account, asset) sales are taken in
   increasing estimated tax per dollar sold (:func:`estimate_sale_tax`), so positions with net
   losses are trimmed before positions with gains; each sale relieves lots in the ledger's
   tax-optimal order (short-term losses, long-term losses, then least tax per dollar) and stops
   where the tax budget says (see below).
3. **Buys.** Each account's spare cash plus its own sales buy the household's underweight
   assets (scaled down pro rata when the budget left some overweight unsold). Cash never moves
   between accounts; buys never spend more than the account's cash above its reserve plus the
   same day's sales (the engine executes sells first). No buy washes a loss (IRC §1091(a); in
   an IRA or Roth the loss would be lost for good, Rev. Rul. 2008-5): an asset whose identity
   group had a loss sale in the last 30 days (the engine's withdrawal sales included,
   ``buy_would_wash``) or is sold at an estimated loss today is not bought; its cash waits.

**Withdrawals and taxes** (``Strategy.raises_cash``): on any day an account's cash is below
zero (a withdrawal, or a tax paid from the portfolio), the strategy raises it with
``cash_raising.raise_shortfalls``: pro rata, lots tax-optimal, from its positions with no lot
at a loss (a loss sale closes its group to purchases for 30 days), then those whose loss no
shares in an IRA or Roth could wash for good (``cash_raising.lasting_loss_risk``: such an
account holds the group and bought it in the last 30 days or reinvests its distributions; a
wash into a taxable account only defers the loss and is accepted), then the others' oldest or
newest gain lots (FIFO or LIFO); the engine sells what is left. A loss sold for it blocks its
group's purchases that day. Contributions are invested by the engine at the account's targets.

Tax budgets (either, both or neither):

- ``max_gain``: dollars of net realized gain per calendar year. The room is ``max_gain`` minus
  the year's realized short- plus long-term gain so far (``state.year_income``, taxable
  accounts, every sale of the year including the engine's sales for taxes). Only the gains of
  the lots a sale relieves use room; losses realized the same day do not add to it (a loss can
  still be disallowed by the wash-sale rule), they do once they are in the ledger. Limits: a
  loss that gave room and is disallowed later (a purchase within the next 30 days) raises the
  year's gain after the fact, and the engine's own sales (taxes, withdrawals) are counted but
  not limited; either can take the year past the cap.
- ``tax_cost_weight`` (k, dimensionless): a lot is sold only while the asset's remaining
  household overweight ``w`` (weight points, fraction of the household's investable value)
  exceeds ``k × τ``, where ``τ`` is the lot's estimated tax per dollar sold (dollars of tax over
  dollars of proceeds). This is the optimum of minimising ``tax + V × Σ overweight² / (2k)``
  (``V`` the household's investable value, dollars): the drift reduction of the next dollar
  sold is worth ``w / k`` dollars of tax. Loss lots (``τ < 0``) always pass; ``k = 0`` ignores
  tax. Example: with ``k = 1`` a lot whose sale costs 5% of its proceeds is sold only while the
  asset is more than 5 points over target.

Parameters are packed in the float64 ``params`` array at the ``PARAM_*`` offsets below.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numba import njit

from strategies.calendar_rebalance import PERIOD_MONTHS, PERIOD_NAMES, calendar_rebalance
from strategies.cash_raising import (
    GUARD_LASTING,
    SHORTFALL_GAIN_LOTS,
    SHORTFALL_NO_LOSS,
    SHORTFALL_SAFE,
    has_lot_below_basis_nb,
    raise_shortfalls_nb,
)
from strategies.rebalance import (
    DISABLED,
    account_value_nb,
    optional_nonnegative,
    period_index_nb,
    write_order_nb,
)
from taxsim.dates import year_of_nb
from taxsim.engine import Strategy
from taxsim.ledger.enums import (
    TAX_OPTIMAL,
    TAXABLE,
    YEAR_LT_GAIN,
    YEAR_ST_GAIN,
)
from taxsim.ledger.lots import asset_gain_rates_nb, relief_order_nb
from taxsim.ledger.state import sale_gain_by_term_nb, year_index_nb
from taxsim.ledger.wash_sales import buy_would_wash_nb

PARAM_MONTHS = 0  # months per period
PARAM_MAX_GAIN = 1  # dollars of net realized gain per calendar year; DISABLED: no cap
PARAM_TAX_COST_WEIGHT = 2  # k: sell a lot while overweight > k × tax per dollar; DISABLED: off
PARAM_THRESHOLD = 3  # weight points: trade only if an asset's household drift exceeds it
PARAM_MIN_TRADE = 4  # dollars: smaller trades are skipped
PARAM_CASH_RESERVE = 5  # fraction of each account's value kept in cash (for costs)
PARAM_LAST_PERIOD = 6  # state: index of the last period handled (-1 before the first)
N_PARAMS = 7


# ----------------------------------------------------------------------- tax estimates


def estimate_sale_tax(state, account, asset, shares, price, day):
    """Estimated tax of selling ``shares`` of (``account``, ``asset``) at ``price`` on ``day``.

    Walks the open lots in the ledger's tax-optimal relief order (short-term losses, then
    long-term losses, largest loss per share first, then the rest by increasing tax per dollar
    sold, ties first-in first-out) and taxes each relieved portion's gain at the marginal rate
    of its term (``taxsim.ledger.lots.asset_gain_rates``: a collectible's long-term gain at the
    28% collectibles rate, IRC §1(h)(4)).

    Parameters
    ----------
    state : taxsim.ledger.state.LedgerState
        The ledger (read only): ``lot_shares``, ``lot_basis`` (dollars, wash-sale adjustment
        included), ``lot_long_from`` (first long-term day) and the IRC §852(b)(4) amounts of
        the lots linked from ``head[account, asset]`` through ``lot_next``; ``rates`` and
        ``account_kind``.
    account, asset : int
        Account and asset index.
    shares : float
        Shares to sell; at most the shares held are counted.
    price : float
        Dollars per share received (before trading costs).
    day : int
        Day number of the sale; sets the holding period of each lot and the rates' year.

    Returns
    -------
    tax : float
        Dollars: ``short_term_gain × short_rate + long_term_gain × long_rate``; negative when
        the sale realizes a net loss (the tax it saves, assuming the loss offsets gains of its
        own term at the same rate). Zero in tax-deferred and tax-exempt accounts.
    short_term_gain, long_term_gain : float
        Dollars of realized gain (loss negative) by term; zero outside taxable accounts.

    Notes
    -----
    An estimate: it ignores the wash-sale rule, capital loss carryforwards, the $3,000 loss
    limit and trading costs (which lower the amount realized). A loss on fund shares held six
    months or less is counted as the ledger books it (``state.sale_gain_by_term``): less the
    exempt-interest dividends they received, IRC §852(b)(4)(B), and long-term up to their
    capital gain distributions, §852(b)(4)(A).
    """
    if shares <= 0.0 or state.account_kind[account] != TAXABLE:
        return 0.0, 0.0, 0.0
    short_rate, long_rate = asset_gain_rates_nb(state, asset, day)
    lot_shares = state.lot_shares
    lot_basis = state.lot_basis
    order = relief_order_nb(state, account, asset, TAX_OPTIMAL, price, day, shares)
    remaining = shares
    short_gain = 0.0
    long_gain = 0.0
    for k in range(order.shape[0]):
        slot = order[k]
        take = min(remaining, lot_shares[slot])
        short_part, long_part = sale_gain_by_term_nb(
            state, slot, take, take * (price - lot_basis[slot] / lot_shares[slot]), day)
        short_gain += short_part
        long_gain += long_part
        remaining -= take
        if remaining <= 0.0:
            break
    return short_gain * short_rate + long_gain * long_rate, short_gain, long_gain


estimate_sale_tax_nb = njit(cache=True)(estimate_sale_tax)


def taxable_sale_shares(state, account, asset, price, day, max_shares, gain_room, overweight,
                        tax_cost_weight, household_value):
    """Shares of a taxable (account, asset) to sell under the tax budget; (shares, gain used).

    Lots are walked in tax-optimal order up to ``max_shares``. A lot with a gain is sold only
    as far as ``gain_room`` (dollars; ``math.inf``: no cap) still covers its gain, and, when
    ``tax_cost_weight`` k > 0, only while ``overweight`` (weight points) minus the dollars sold
    so far over ``household_value`` stays above ``k × τ`` (τ: the lot's tax per dollar sold).
    Loss lots are always sold. ``gain used`` is the dollars of positive lot gains relieved.
    """
    short_rate, long_rate = asset_gain_rates_nb(state, asset, day)
    lot_shares = state.lot_shares
    lot_basis = state.lot_basis
    lot_long_from = state.lot_long_from
    order = relief_order_nb(state, account, asset, TAX_OPTIMAL, price, day, max_shares)
    sold = 0.0
    used = 0.0
    for k in range(order.shape[0]):
        slot = order[k]
        take = min(max_shares - sold, lot_shares[slot])
        if take <= 0.0:
            break
        gain_per_share = price - lot_basis[slot] / lot_shares[slot]
        if gain_per_share > 0.0:
            if gain_room < math.inf:
                take = min(take, max(gain_room - used, 0.0) / gain_per_share)
            if tax_cost_weight > 0.0:
                rate = long_rate if day >= lot_long_from[slot] else short_rate
                tax_per_dollar = gain_per_share * rate / price
                limit = (overweight - tax_cost_weight * tax_per_dollar) * household_value
                take = min(take, max(limit - sold * price, 0.0) / price)
            used += take * gain_per_share
        sold += take
    return sold, used


taxable_sale_shares_nb = njit(cache=True)(taxable_sale_shares)


# ----------------------------------------------------------------------- shared trade helpers


def sell_from_accounts(prices, holdings, members, asset, amount, sold, smallest):
    """Sell up to ``amount`` dollars of ``asset`` from the ``members`` accounts, in account
    order (each account as far as it holds it); adds to ``sold`` (dollars, accounts × assets)
    and returns the dollars sold. Pieces under ``smallest`` dollars are skipped."""
    remaining = amount
    for account in range(holdings.shape[0]):
        if remaining < smallest:
            break
        if not members[account]:
            continue
        held = holdings[account, asset] * prices[asset] - sold[account, asset]
        take = min(remaining, held)
        if take >= smallest:
            sold[account, asset] += take
            remaining -= take
    return amount - remaining


sell_from_accounts_nb = njit(cache=True)(sell_from_accounts)


def buy_with_funds(members, need, funds, bought):
    """Spend the ``members`` accounts' ``funds`` (dollars, by account; used up in place) on the
    assets' ``need`` (dollars), scaled down pro rata when the funds fall short; accounts are
    filled in order. Adds to ``bought`` (dollars, accounts × assets)."""
    total_need = 0.0
    for asset in range(need.shape[0]):
        if need[asset] > 0.0:
            total_need += need[asset]
    total_funds = 0.0
    for account in range(funds.shape[0]):
        if members[account] and funds[account] > 0.0:
            total_funds += funds[account]
    if total_need <= 0.0 or total_funds <= 0.0:
        return
    scale = min(1.0, total_funds / total_need)
    account = 0
    for asset in range(need.shape[0]):
        remaining = need[asset] * scale if need[asset] > 0.0 else 0.0
        while remaining > 0.0 and account < funds.shape[0]:
            if not members[account] or funds[account] <= 0.0:
                account += 1
                continue
            take = min(remaining, funds[account])
            bought[account, asset] += take
            funds[account] -= take
            remaining -= take
            if funds[account] <= 1e-12 * total_funds:
                account += 1


buy_with_funds_nb = njit(cache=True)(buy_with_funds)


def write_trades(prices, holdings, sold, bought, orders, n_orders, lot_method, smallest,
                 sale_methods):
    """Orders for the dollars ``sold`` and ``bought`` (accounts × assets); returns the count.

    Sales relieve lots by ``lot_method``, or by the lot method code in ``sale_methods`` (int,
    accounts × assets, -1: ``lot_method``; an empty array for none). A sale within a millionth
    of a share of the holding sells the holding; buys under ``smallest`` dollars are skipped
    (the cash stays).
    """
    own_methods = sale_methods.shape[0] > 0
    for account in range(holdings.shape[0]):
        for asset in range(holdings.shape[1]):
            if sold[account, asset] > 0.0:
                shares = sold[account, asset] / prices[asset]
                if shares >= holdings[account, asset] - 1e-6:
                    shares = holdings[account, asset]
                method = lot_method
                if own_methods and sale_methods[account, asset] >= 0:
                    method = sale_methods[account, asset]
                n_orders = write_order_nb(orders, n_orders, account, asset, -shares, method)
    for account in range(holdings.shape[0]):
        for asset in range(holdings.shape[1]):
            if bought[account, asset] >= smallest:
                n_orders = write_order_nb(orders, n_orders, account, asset,
                                          bought[account, asset] / prices[asset], lot_method)
    return n_orders


write_trades_nb = njit(cache=True)(write_trades)


# ----------------------------------------------------------------------- the strategy


def tax_aware_orders(day, prices, holdings, cash, targets, state, params, orders, n_orders,
                     rebalance):
    """Orders of one tax-aware household rebalance (see the module docstring), or with
    ``rebalance`` False only the sales that raise the accounts' cash shortfalls; returns the
    order count. Accounts whose listed targets sum to zero are left alone; assets without a
    price (not listed) keep their target weight in cash."""
    n_accounts, n_assets = holdings.shape
    reserve = params[PARAM_CASH_RESERVE]
    members = np.zeros(n_accounts, np.bool_)
    spare = np.zeros(n_accounts)  # cash above the reserve and the targets' cash share, dollars
    target = np.zeros(n_assets)  # household target dollars
    held = np.zeros(n_assets)  # household dollars held
    total = 0.0  # household investable value, dollars
    for account in range(n_accounts):
        target_sum = 0.0
        for asset in range(n_assets):
            if math.isfinite(prices[asset]):
                target_sum += targets[account, asset]
        if target_sum <= 0.0:
            continue
        value = account_value_nb(prices, holdings, cash, account)
        investable = value * (1.0 - reserve)
        if investable <= 0.0:
            continue
        members[account] = True
        total += investable
        spare[account] = cash[account] - (value - investable) - investable * (1.0 - target_sum)
        for asset in range(n_assets):
            if math.isfinite(prices[asset]):
                target[asset] += targets[account, asset] * investable
                held[asset] += holdings[account, asset] * prices[asset]
    if total <= 0.0:
        return n_orders
    smallest = max(params[PARAM_MIN_TRADE], 1e-9 * total)
    gap = target - held  # dollars; positive: underweight
    worst = 0.0
    for asset in range(n_assets):
        worst = max(worst, abs(gap[asset]) / total)
    short = False  # a withdrawal or a tax left cash below zero (``Strategy.raises_cash``)
    for account in range(n_accounts):
        short = short or (members[account] and cash[account] < 0.0)
    rebalance = rebalance and worst > params[PARAM_THRESHOLD] + 1e-12
    if not rebalance and not short:
        return n_orders
    kinds = state.account_kind
    advantaged = np.zeros(n_accounts, np.bool_)
    taxable = np.zeros(n_accounts, np.bool_)
    for account in range(n_accounts):
        advantaged[account] = members[account] and kinds[account] != TAXABLE
        taxable[account] = members[account] and kinds[account] == TAXABLE
    sold = np.zeros((n_accounts, n_assets))
    bought = np.zeros((n_accounts, n_assets))
    loss_group = np.zeros(n_assets, np.bool_)  # identity groups sold at a loss today
    # 1. overweights sold in the tax-deferred and tax-exempt accounts first
    for asset in range(n_assets if rebalance else 0):
        if math.isfinite(prices[asset]) and gap[asset] <= -smallest:
            gap[asset] += sell_from_accounts_nb(prices, holdings, advantaged, asset, -gap[asset],
                                                sold, smallest)
    # 2. what is left, in taxable accounts: least tax per dollar (losses) first, within budget
    n_candidates = 0
    for account in range(n_accounts if rebalance else 0):
        for asset in range(n_assets):
            if (taxable[account] and math.isfinite(prices[asset]) and gap[asset] <= -smallest
                    and holdings[account, asset] > 0.0):
                n_candidates += 1
    if n_candidates > 0:
        candidate_account = np.empty(n_candidates, np.int64)
        candidate_asset = np.empty(n_candidates, np.int64)
        key = np.empty(n_candidates)
        c = 0
        for account in range(n_accounts):
            for asset in range(n_assets):
                if (taxable[account] and math.isfinite(prices[asset]) and gap[asset] <= -smallest
                        and holdings[account, asset] > 0.0):
                    shares = min(-gap[asset] / prices[asset], holdings[account, asset])
                    tax, _, _ = estimate_sale_tax_nb(state, account, asset, shares,
                                                     prices[asset], day)
                    candidate_account[c] = account
                    candidate_asset[c] = asset
                    key[c] = tax / (shares * prices[asset])
                    c += 1
        room = math.inf
        if params[PARAM_MAX_GAIN] >= 0.0:
            income = state.year_income[year_index_nb(year_of_nb(day))]
            room = max(params[PARAM_MAX_GAIN] - income[YEAR_ST_GAIN] - income[YEAR_LT_GAIN], 0.0)
        weight = max(params[PARAM_TAX_COST_WEIGHT], 0.0)
        taken = np.zeros(n_candidates, np.bool_)
        for _ in range(n_candidates):
            best = -1
            for c in range(n_candidates):
                if not taken[c] and (best < 0 or key[c] < key[best]):
                    best = c
            taken[best] = True
            account = candidate_account[best]
            asset = candidate_asset[best]
            need = -gap[asset]
            if need < smallest:
                continue
            max_shares = min(need / prices[asset], holdings[account, asset])
            shares, used = taxable_sale_shares_nb(state, account, asset, prices[asset], day,
                                                  max_shares, room, need / total, weight, total)
            if shares * prices[asset] >= smallest:
                sold[account, asset] += shares * prices[asset]
                gap[asset] += shares * prices[asset]
                room -= used
                if key[best] < 0.0:  # a loss sale (negative tax): its group waits today
                    loss_group[state.asset_group[asset]] = True
    # the cash shortfalls of a withdrawal or a tax: positions whose loss no IRA or Roth shares
    # could wash for good, then the others' gain lots (``cash_raising``); a loss sold for them
    # also waits for its group today
    sale_methods = np.full((n_accounts, n_assets), -1, np.int64)  # -1: tax-optimal
    for source in (SHORTFALL_NO_LOSS, SHORTFALL_SAFE, SHORTFALL_GAIN_LOTS):
        raise_shortfalls_nb(prices, holdings, cash, members, spare, gap, sold, smallest,
                            state, day, GUARD_LASTING, source, sale_methods)
    for account in range(n_accounts):
        for asset in range(n_assets):
            if (taxable[account] and sold[account, asset] > 0.0
                    and sale_methods[account, asset] < 0
                    and has_lot_below_basis_nb(state, account, asset, prices[asset])):
                loss_group[state.asset_group[asset]] = True
    # 3. buys: each account's spare cash and its own sales, for the underweight assets
    funds = np.zeros(n_accounts)
    for account in range(n_accounts):
        if members[account]:
            funds[account] = spare[account]
            for asset in range(n_assets):
                funds[account] += sold[account, asset]
    need = np.zeros(n_assets)
    for asset in range(n_assets):
        if (math.isfinite(prices[asset]) and gap[asset] > 0.0
                and not loss_group[state.asset_group[asset]]
                and not buy_would_wash_nb(state, asset, day)):
            need[asset] = gap[asset]
    if rebalance:
        buy_with_funds_nb(members, need, funds, bought)
    return write_trades_nb(prices, holdings, sold, bought, orders, n_orders, TAX_OPTIMAL,
                           smallest, sale_methods)


tax_aware_orders_nb = njit(cache=True)(tax_aware_orders)


def tax_aware_decide(day_index, day, prices, holdings, cash, targets, state, params, orders):
    """On the first trading day of each period, a tax-aware household rebalance; on other days
    the sales that raise a cash shortfall (a withdrawal or a tax paid from the portfolio)."""
    period = period_index_nb(day, int(params[PARAM_MONTHS]))
    if period != params[PARAM_LAST_PERIOD]:
        params[PARAM_LAST_PERIOD] = period
        return tax_aware_orders_nb(day, prices, holdings, cash, targets, state, params, orders,
                                   0, True)
    # a shortfall under min_trade (the costs of earlier trades, which may leave cash below
    # zero) is not raised (see raise_shortfalls): the day needs no household pass
    for account in range(cash.shape[0]):
        if cash[account] < 0.0 and cash[account] <= -params[PARAM_MIN_TRADE]:
            return tax_aware_orders_nb(day, prices, holdings, cash, targets, state, params,
                                       orders, 0, False)
    return 0


tax_aware_decide_nb = njit(cache=True)(tax_aware_decide)


def tax_aware_rebalance(
    frequency: str = "quarterly",
    *,
    max_gain: float | None = None,
    tax_cost_weight: float | None = None,
    threshold: float = 0.0,
    min_trade: float = 10.0,
    cash_reserve: float = 0.0,
) -> Strategy:
    """Rebalance the household toward its targets as far as a tax budget allows.

    On the first trading day of each period the household (the accounts whose targets sum
    above zero) is moved toward its target dollars, the sum of every account's targets times
    its investable value: overweight assets are sold in tax-deferred and tax-exempt accounts
    first, then in taxable accounts in increasing estimated tax per dollar (net losses first),
    lots relieved tax-optimally, within the budget; each account's spare cash and its own
    sales buy the underweight assets. See the module docstring for the exact rules.

    Parameters
    ----------
    frequency : {"monthly", "quarterly", "yearly"}
        When to look; the first trading day of the run always looks.
    max_gain : float or None
        Dollars of net realized (short- plus long-term) gain per calendar year, counting every
        sale of the year in taxable accounts; None: no cap.
    tax_cost_weight : float or None
        k >= 0 (dimensionless): a taxable lot with a gain is sold only while the asset's
        household overweight (weight points) exceeds ``k ×`` its tax per dollar sold. None or
        0: tax is not weighed (only ``max_gain`` limits sales).
    threshold : float
        Weight points of the household's value: no trade unless an asset's household weight
        is more than this away from its target.
    min_trade : float
        Dollars; smaller trades are skipped.
    cash_reserve : float
        Fraction of each account's value kept in cash for trading costs, in [0, 1).

    Returns
    -------
    taxsim.engine.Strategy
        Decide :func:`tax_aware_decide_nb`, lot method ``"tax_optimal"``, ``params`` packed at
        the ``PARAM_*`` offsets; its twin is ``calendar_rebalance(frequency, "fifo")``.

    Raises
    ------
    ValueError
        An unknown ``frequency``; a negative or non-finite ``max_gain``, ``tax_cost_weight``,
        ``threshold``, ``min_trade``; ``cash_reserve`` outside [0, 1). The message names it.
    """
    if frequency not in PERIOD_MONTHS:
        raise ValueError(f"frequency must be one of {sorted(PERIOD_MONTHS)}, got {frequency!r}")
    gain_cap = optional_nonnegative("max_gain", max_gain)
    weight = optional_nonnegative("tax_cost_weight", tax_cost_weight)
    if optional_nonnegative("threshold", threshold) == DISABLED:
        raise ValueError("threshold must be a finite number >= 0, got None")
    if optional_nonnegative("min_trade", min_trade) == DISABLED:
        raise ValueError("min_trade must be a finite number of dollars >= 0, got None")
    if isinstance(cash_reserve, bool) or not isinstance(cash_reserve, numbers.Real) or not (
        math.isfinite(cash_reserve) and 0.0 <= cash_reserve < 1.0
    ):
        raise ValueError(f"cash_reserve must be a fraction in [0, 1), got {cash_reserve!r}")
    params = np.zeros(N_PARAMS)
    params[PARAM_MONTHS] = PERIOD_MONTHS[frequency]
    params[PARAM_MAX_GAIN] = gain_cap
    params[PARAM_TAX_COST_WEIGHT] = weight
    params[PARAM_THRESHOLD] = float(threshold)
    params[PARAM_MIN_TRADE] = float(min_trade)
    params[PARAM_CASH_RESERVE] = float(cash_reserve)
    params[PARAM_LAST_PERIOD] = -1.0
    budget = []
    if max_gain is not None:
        budget.append(f"gains <= ${gain_cap:,.0f}/yr")
    if tax_cost_weight is not None:
        budget.append(f"tax weight {weight:g}")
    label = ", ".join([frequency, *budget])
    description = (
        "household rebalance on the first trading day of each " + PERIOD_NAMES[frequency]
        + ": tax-advantaged accounts first, then taxable sales (losses first, tax-optimal lots)"
        + (" within " + " and ".join(budget) if budget else "")
    )
    return Strategy(f"tax-aware rebalancing ({label})", tax_aware_decide_nb, params,
                    lot_method="tax_optimal", description=description, raises_cash=True,
                    twin=calendar_rebalance(frequency, "fifo", cash_reserve, min_trade))
