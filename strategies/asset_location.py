"""Asset location and household rebalancing: one household target, placed by tax efficiency.

The household target (ticker -> fraction of the whole household's investable value) is carried
in ``params``; the per-account ``targets`` the engine passes to ``decide`` are ignored (pass
``{}`` to :func:`taxsim.engine.simulate`). Contributions stay in cash for the strategy
(``Strategy.invests_flows``).

**The location plan.** ``V`` is the household's investable value (cash plus holdings of every
account, less each account's ``cash_reserve``); asset ``i`` should hold ``target[i] × V``
dollars. The plan fills the account groups in turn, each up to its capacity (its investable
value times the listed targets' sum; the rest of the targets' cash share stays in each account):

1. tax-deferred accounts (traditional IRA / 401(k)) with the least tax-efficient assets first:
   taxable bonds, then REITs, then collectibles (physical-metal trusts: no income, but a 28%
   long-term rate, IRC §1(h)(4)), then equities (international before US, then lower
   qualified dividend fraction first), municipal bonds last (their interest is tax-exempt
   only in a taxable account);
2. tax-exempt accounts (Roth) with the highest expected growth first: ``expected_growth`` per
   ticker, or by tax character equity 7%, REIT 6%, taxable bond and collectible 4%, municipal
   bond 3% (ties in tax-inefficiency order);
3. taxable accounts with the rest.

**Coordinated trades.** On the first trading day of each period (monthly, quarterly, yearly),
when any asset's dollars in any account group differ from the plan by more than ``threshold ×
V`` (and always on the first trading day of the run), each group is brought to its plan: its
overweight assets are sold (from its accounts in account order), then each account's own cash
and sales buy the group's underweight assets. Exposure moves between accounts by selling in
one and buying in another; cash never moves between accounts, and no account spends more than
its cash above the reserve plus its same-day sales. On other days spare cash (new
contributions, distributions kept as cash; once it exceeds the account's cash reserve or
``min_trade``, whichever is larger) buys the account group's underweight assets (buys
only), and a cash shortfall the engine leaves to the strategy (a withdrawal, tax paid from the
portfolio; cash below zero) is raised, back to the reserve, by selling the account's holdings
of its group's overweight assets, then (after a rebalance's sales) its positions with no lot
at a loss, then its other positions whose sale cannot realize a washed loss, then the others'
oldest or newest gain lots, FIFO or LIFO (``cash_raising.raise_shortfalls``); the engine sells
what is still short, pro rata. On a rebalance day
the accounts short of cash sell first.

**No wash sale from the strategy's own trades** (IRC §1091; a replacement bought in an IRA or
Roth makes the loss permanent, Rev. Rul. 2008-5). A taxable position "may realize a loss" when
one of its lots has a basis above its value (assumed sold first, whatever the lot method):

1. no asset is bought in any account while its identity group has a loss sale with an open
   window (``buy_would_wash``: sold in the last 30 days); the cash waits for the window's end;
2. a taxable account does not sell a position that may realize a loss when a purchase of the
   group is planned today anywhere in the household, the group was acquired in the last 30
   days (``sale_would_wash``) or another account that reinvests its distributions holds it;
   on a rebalance day another account group that plans to hold the asset holds that much less
   of it and buys the taxable group's underweight assets instead (:func:`swap_kept`), so the
   household stays on target while the location bends;
3. no purchase today of a group a taxable account sells at a loss today.

Not covered: a loss made only by the selling costs of a lot at or just above its basis, the
account's own reinvested dividend after a partial loss sale (a deferral, not a lost loss), and
the engine's sales of a shortfall the strategy cannot raise safely. The twin has no guard.

**The non-managed twin** (:func:`household_mix`, the same decide in ``MODE_MIX``): every
account holds the household mix (its investable value times the target), rebalanced to it on
the first trading day of each period, FIFO lots; new cash buys the account's underweight
assets.

Packing of ``params`` (offsets ``PARAM_*``): mode, months per period, threshold (weight
points), lot method code, min trade (dollars), cash reserve (fraction), last period handled
(state, -1 before the first), number of assets ``n``; then from ``PARAM_PER_ASSET``: ``n``
household target weights (market column order), ``n`` asset indices in tax-deferred fill order,
``n`` asset indices in tax-exempt fill order.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np
from numba import njit

from strategies.calendar_rebalance import PERIOD_MONTHS, PERIOD_NAMES
from strategies.cash_raising import (
    GUARD_ANY_WASH,
    GUARD_NONE,
    SHORTFALL_GAIN_LOTS,
    SHORTFALL_NO_LOSS,
    SHORTFALL_OVERWEIGHT,
    SHORTFALL_SAFE,
    has_lot_below_basis_nb,
    loss_sale_unsafe_nb,
    raise_shortfalls_nb,
)
from strategies.rebalance import account_value_nb, period_index_nb
from strategies.tax_aware_rebalance import buy_with_funds_nb, write_trades_nb
from taxsim.engine import Strategy
from taxsim.ledger.enums import LOT_METHOD_CODES, TAX_DEFERRED, TAX_EXEMPT, TAXABLE
from taxsim.ledger.wash_sales import buy_would_wash_nb

MODE_LOCATION = 0  # account groups by kind, filled by tax efficiency
MODE_MIX = 1  # every account holds the household mix (the non-managed twin)

PARAM_MODE = 0
PARAM_MONTHS = 1  # months per period
PARAM_THRESHOLD = 2  # weight points of the household's investable value
PARAM_LOT_METHOD = 3  # ledger lot method code of the sells
PARAM_MIN_TRADE = 4  # dollars: smaller trades are skipped
PARAM_CASH_RESERVE = 5  # fraction of each account's value kept in cash (for costs)
PARAM_LAST_PERIOD = 6  # state: index of the last period handled (-1 before the first)
PARAM_N_ASSETS = 7  # n: assets of the market the strategy was built for
PARAM_PER_ASSET = 8  # n target weights, n tax-deferred fill order, n tax-exempt fill order

# tax-deferred fill order: higher first (taxable bond interest and REIT dividends are
# ordinary income every year, REIT dividends less the §199A deduction of 20% since 2018, 29.6%
# instead of 37%; a collectible pays nothing until sold, then 28% on its long-term gain
# against 20% on an equity's, IRC §1(h)(4); municipal bond interest is exempt only in a
# taxable account)
CHARACTER_INEFFICIENCY = {"taxable_bond": 3, "reit": 2, "collectible": 1.5, "equity": 1,
                          "municipal_bond": 0}
# tax-exempt fill order when no expected_growth is given: long-run nominal return assumptions,
# used only to rank
DEFAULT_GROWTH = {"equity": 0.07, "reit": 0.06, "taxable_bond": 0.04, "collectible": 0.04,
                  "municipal_bond": 0.03}
INTERNATIONAL_WORDS = ("intl", "international", "foreign", "emerging", "ex_us", "ex-us",
                       "developed")


def group_flagged(state, flags, asset):
    """True if ``flags`` is set for any asset of ``asset``'s identity group."""
    group = state.asset_group[asset]
    for member in range(state.group_offsets[group], state.group_offsets[group + 1]):
        if flags[state.group_assets[member]]:
            return True
    return False


group_flagged_nb = njit(cache=True)(group_flagged)


def sell_safely(prices, holdings, members, asset, amount, sold, smallest, state, day, guard,
                buying_today, kept):
    """Sell up to ``amount`` dollars of ``asset`` from the ``members`` accounts in account
    order, as ``sell_from_accounts`` does, skipping each taxable account whose sale could
    realize a washed loss (``cash_raising.loss_sale_unsafe``; ``buying_today``: the group is bought
    today; without ``guard`` nothing is skipped). Returns the dollars sold; what unsafe
    accounts would have sold and no other account did is added to ``kept[asset]``."""
    remaining = amount
    skipped = 0.0
    for account in range(holdings.shape[0]):
        if remaining < smallest:
            break
        if not members[account]:
            continue
        held = holdings[account, asset] * prices[asset] - sold[account, asset]
        take = min(remaining, held)
        if take < smallest:
            continue
        if guard and loss_sale_unsafe_nb(state, account, asset, day, prices[asset], take,
                                         held, buying_today):
            skipped += take
            continue
        sold[account, asset] += take
        remaining -= take
    kept[asset] += min(skipped, remaining)
    return amount - remaining


sell_safely_nb = njit(cache=True)(sell_safely)


def swap_kept(plan, delta, kept, blocked, smallest):
    """Keep the household on target around the taxable loss sales not made (``kept``, dollars
    by asset; zeroed): another account group that plans to hold the asset holds that much less
    of it (buying less, or selling it: no loss is recognized outside taxable accounts) and
    buys instead what the taxable group now cannot pay for, its underweight assets in
    proportion to their need. ``plan`` and ``delta`` (dollars, groups × assets) are updated;
    each group's total is unchanged."""
    n_pools, n_assets = delta.shape
    for asset in range(n_assets):
        left = kept[asset]
        kept[asset] = 0.0
        for pool in range(n_pools):
            if pool == TAXABLE or left < smallest:
                continue
            total_need = 0.0
            for other in range(n_assets):
                if other != asset and delta[TAXABLE, other] > 0.0 and not blocked[other]:
                    total_need += delta[TAXABLE, other]
            moved = min(left, plan[pool, asset], total_need)
            if moved < smallest:
                continue
            plan[pool, asset] -= moved
            delta[pool, asset] -= moved
            for other in range(n_assets):
                if other != asset and delta[TAXABLE, other] > 0.0 and not blocked[other]:
                    share = moved * delta[TAXABLE, other] / total_need
                    plan[pool, other] += share
                    delta[pool, other] += share
                    delta[TAXABLE, other] -= share
            left -= moved


swap_kept_nb = njit(cache=True)(swap_kept)


def location_orders(day, prices, holdings, cash, state, params, orders, n_orders,
                    rebalance_day, first):
    """Orders that bring the account groups to the location plan (``rebalance_day``: sells
    and buys, when the drift passes the threshold or ``first``; otherwise spare cash buys
    only); returns the order count. In ``MODE_LOCATION`` the trades never wash a taxable loss
    (the wash-sale guard of the module docstring). See the module docstring."""
    n_accounts, n_assets = holdings.shape
    reserve = params[PARAM_CASH_RESERVE]
    listed_weight = 0.0
    for asset in range(n_assets):
        if math.isfinite(prices[asset]):
            listed_weight += params[PARAM_PER_ASSET + asset]
    if listed_weight <= 0.0:
        return n_orders
    investable = np.zeros(n_accounts)
    kept = np.zeros(n_accounts)  # the cash reserve, dollars
    spare = np.zeros(n_accounts)  # cash above the reserve and the targets' cash share
    total = 0.0
    for account in range(n_accounts):
        value = account_value_nb(prices, holdings, cash, account)
        worth = value * (1.0 - reserve)
        if worth <= 0.0:
            continue
        investable[account] = worth
        kept[account] = value - worth
        spare[account] = cash[account] - kept[account] - worth * (1.0 - listed_weight)
        total += worth
    if total <= 0.0:
        return n_orders
    smallest = max(params[PARAM_MIN_TRADE], 1e-9 * total)
    # between rebalances an account acts on its cash only when new cash exceeds its reserve
    # again (or min_trade), or when its cash is negative (a withdrawal or tax left to the
    # strategy): the reserve moving with prices does not trade
    cash_event = np.zeros(n_accounts, np.bool_)
    has_spare = False
    for account in range(n_accounts):
        if investable[account] > 0.0 and (
            spare[account] >= max(smallest, kept[account])
            or (cash[account] < 0.0 and spare[account] <= -smallest)
        ):
            cash_event[account] = True
            has_spare = True
    if not rebalance_day and not has_spare:
        return n_orders
    mix = params[PARAM_MODE] == MODE_MIX
    n_pools = n_accounts if mix else 3
    pool_of = np.empty(n_accounts, np.int64)
    for account in range(n_accounts):
        pool_of[account] = account if mix else state.account_kind[account]
    plan = np.zeros((n_pools, n_assets))  # dollars by account group and asset
    if mix:
        for account in range(n_accounts):
            for asset in range(n_assets):
                if math.isfinite(prices[asset]):
                    plan[account, asset] = params[PARAM_PER_ASSET + asset] * investable[account]
    else:
        remaining = np.zeros(n_assets)
        for asset in range(n_assets):
            if math.isfinite(prices[asset]):
                remaining[asset] = params[PARAM_PER_ASSET + asset] * total
        capacity = np.zeros(3)
        for account in range(n_accounts):
            capacity[pool_of[account]] += investable[account] * listed_weight
        for kind in (TAX_DEFERRED, TAX_EXEMPT):
            offset = PARAM_PER_ASSET + (n_assets if kind == TAX_DEFERRED else 2 * n_assets)
            room = capacity[kind]
            for j in range(n_assets):
                asset = int(params[offset + j])
                if not math.isfinite(prices[asset]):
                    continue
                take = min(remaining[asset], room)
                plan[kind, asset] = take
                remaining[asset] -= take
                room -= take
        for asset in range(n_assets):
            plan[TAXABLE, asset] = remaining[asset]
    held = np.zeros((n_pools, n_assets))
    for account in range(n_accounts):
        for asset in range(n_assets):
            if math.isfinite(prices[asset]):
                held[pool_of[account], asset] += holdings[account, asset] * prices[asset]
    sells = False
    if rebalance_day:
        drift = 0.0
        for pool in range(n_pools):
            for asset in range(n_assets):
                drift = max(drift, abs(plan[pool, asset] - held[pool, asset]) / total)
        sells = first or drift > params[PARAM_THRESHOLD] + 1e-12
    if not sells:
        if not has_spare:
            return n_orders
        for account in range(n_accounts):
            if not cash_event[account]:
                spare[account] = 0.0
    sold = np.zeros((n_accounts, n_assets))
    sale_methods = np.full((n_accounts, n_assets), -1, np.int64)  # -1: the strategy's
    bought = np.zeros((n_accounts, n_assets))
    members = np.zeros(n_accounts, np.bool_)
    funds = np.zeros(n_accounts)
    need = np.zeros(n_assets)
    delta = np.zeros((n_pools, n_assets))  # dollars: plan - held, by account group and asset
    for pool in range(n_pools):
        for asset in range(n_assets):
            if math.isfinite(prices[asset]):
                delta[pool, asset] = plan[pool, asset] - held[pool, asset]
    # the wash-sale guard (the location plan only; the twin is not tax-aware): no purchase of
    # a group inside an open window of a loss sale (``blocked``), no taxable loss sale that a
    # purchase of the last 30 days or of today could wash, and no purchase of a group sold at
    # a loss in a taxable account today (``loss_sold``)
    guard = not mix
    blocked = np.zeros(n_assets, np.bool_)
    buying = np.zeros(n_assets, np.bool_)  # a purchase planned today, before the guard
    loss_sold = np.zeros(n_assets, np.bool_)
    kept = np.zeros(n_assets)  # dollars of unsafe taxable loss sales not made
    if guard:
        for asset in range(n_assets):
            if math.isfinite(prices[asset]):
                blocked[asset] = buy_would_wash_nb(state, asset, day)
        for pool in range(n_pools):
            for asset in range(n_assets):
                if delta[pool, asset] >= smallest and not blocked[asset]:
                    buying[asset] = True
    for pool in range(n_pools):  # TAXABLE (0) first: its loss sales are known before any buy
        any_member = False
        for account in range(n_accounts):
            members[account] = pool_of[account] == pool and investable[account] > 0.0
            any_member = any_member or members[account]
        if not any_member:
            continue
        raise_shortfalls_nb(prices, holdings, cash, members, spare, delta[pool], sold,
                            smallest, state, day, GUARD_ANY_WASH if guard else GUARD_NONE,
                            SHORTFALL_OVERWEIGHT, sale_methods)
        for asset in range(n_assets):
            if sells and delta[pool, asset] <= -smallest:
                delta[pool, asset] += sell_safely_nb(
                    prices, holdings, members, asset, -delta[pool, asset], sold, smallest,
                    state, day, guard, guard and group_flagged_nb(state, buying, asset), kept)
        if guard and pool == TAXABLE and sells:
            swap_kept_nb(plan, delta, kept, blocked, smallest)
        if guard:
            for source in (SHORTFALL_NO_LOSS, SHORTFALL_SAFE, SHORTFALL_GAIN_LOTS):
                raise_shortfalls_nb(prices, holdings, cash, members, spare, delta[pool], sold,
                                    smallest, state, day, GUARD_ANY_WASH, source, sale_methods)
        if guard:
            for account in range(n_accounts):
                for asset in range(n_assets):
                    if (members[account] and sold[account, asset] > 0.0
                            and sale_methods[account, asset] < 0
                            and state.account_kind[account] == TAXABLE
                            and has_lot_below_basis_nb(state, account, asset, prices[asset])):
                        loss_sold[asset] = True
        for asset in range(n_assets):
            need[asset] = max(delta[pool, asset], 0.0)
            if guard and (blocked[asset] or group_flagged_nb(state, loss_sold, asset)):
                need[asset] = 0.0
        for account in range(n_accounts):
            funds[account] = 0.0
            if members[account]:
                funds[account] = spare[account]
                for asset in range(n_assets):
                    funds[account] += sold[account, asset]
        buy_with_funds_nb(members, need, funds, bought)
    return write_trades_nb(prices, holdings, sold, bought, orders, n_orders,
                           params[PARAM_LOT_METHOD], smallest, sale_methods)


location_orders_nb = njit(cache=True)(location_orders)


def asset_location_decide(day_index, day, prices, holdings, cash, targets, state, params,
                          orders):
    """Household rebalance to the location plan on each period's first trading day (past the
    threshold); spare cash buys toward the plan on other days. ``targets`` is not used."""
    if int(params[PARAM_N_ASSETS]) != holdings.shape[1]:
        raise ValueError("asset_location: the household target was built for another market "
                         "(pass the run's market to the factory)")
    period = period_index_nb(day, int(params[PARAM_MONTHS]))
    first = params[PARAM_LAST_PERIOD] < 0.0
    rebalance_day = period != params[PARAM_LAST_PERIOD]
    params[PARAM_LAST_PERIOD] = period
    return location_orders_nb(day, prices, holdings, cash, state, params, orders, 0,
                              rebalance_day, first)


asset_location_decide_nb = njit(cache=True)(asset_location_decide)


# ----------------------------------------------------------------------- factories


def _is_international(asset_class: str) -> bool:
    name = asset_class.lower()
    return any(word in name for word in INTERNATIONAL_WORDS)


def location_ranking(market, expected_growth: Mapping[str, float] | None = None
                     ) -> tuple[list[str], list[str]]:
    """The fill orders of the location plan: (tax-deferred order, tax-exempt order).

    Tax-deferred: by tax character, taxable bond, REIT, collectible, equity, municipal bond;
    equities whose ``asset_class`` names them international (``intl``, ``international``,
    ``foreign``, ``emerging``, ``ex_us``, ``ex-us``, ``developed``) before the others, then lower
    ``qualified_fraction`` first; ties in column order. Tax-exempt: higher
    ``expected_growth`` first (default by tax character, :data:`DEFAULT_GROWTH`), ties in
    the tax-deferred order.
    """
    tickers = list(market.tickers)
    growth = _growth(tickers, market, expected_growth)

    def inefficiency(column):
        return (
            -CHARACTER_INEFFICIENCY.get(market.tax_character[column], 1),
            0 if _is_international(market.asset_class[column]) else 1,
            float(market.qualified_fraction[column]),
            column,
        )

    deferred = sorted(range(len(tickers)), key=inefficiency)
    rank = {column: position for position, column in enumerate(deferred)}
    exempt = sorted(range(len(tickers)), key=lambda column: (-growth[column], rank[column]))
    return [tickers[c] for c in deferred], [tickers[c] for c in exempt]


def _growth(tickers, market, expected_growth) -> list[float]:
    growth = [DEFAULT_GROWTH.get(character, DEFAULT_GROWTH["equity"])
              for character in market.tax_character]
    if expected_growth is None:
        return growth
    if not isinstance(expected_growth, Mapping):
        raise ValueError(f"expected_growth must be a mapping of ticker to annual return, got "
                         f"{expected_growth!r}")
    for ticker, value in expected_growth.items():
        if ticker not in tickers:
            raise ValueError(f"expected_growth: unknown ticker {ticker!r}; tickers are {tickers}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(
            value
        ):
            raise ValueError(f"expected_growth[{ticker!r}] must be a finite number, got {value!r}")
        growth[tickers.index(ticker)] = float(value)
    return growth


def _target_weights(target, tickers: Sequence[str]) -> np.ndarray:
    if not isinstance(target, Mapping) or not target:
        raise ValueError(f"target must be a non-empty mapping of ticker to household weight, "
                         f"got {target!r}")
    weights = np.zeros(len(tickers))
    for ticker, weight in target.items():
        if ticker not in tickers:
            raise ValueError(f"target: unknown ticker {ticker!r}; tickers are {list(tickers)}")
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not (
            math.isfinite(weight) and weight >= 0.0
        ):
            raise ValueError(f"target[{ticker!r}] must be a finite weight >= 0, got {weight!r}")
        weights[list(tickers).index(ticker)] = float(weight)
    total = float(weights.sum())
    if total <= 0.0:
        raise ValueError("target: weights sum to 0; give at least one positive weight")
    if total > 1.0 + 1e-9:
        raise ValueError(f"target: weights sum to {total:.6f} > 1")
    return weights


def _common(frequency, threshold, min_trade, cash_reserve, lot_method):
    if frequency not in PERIOD_MONTHS:
        raise ValueError(f"frequency must be one of {sorted(PERIOD_MONTHS)}, got {frequency!r}")
    for name, value in (("threshold", threshold), ("min_trade", min_trade)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            math.isfinite(value) and value >= 0.0
        ):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if isinstance(cash_reserve, bool) or not isinstance(cash_reserve, numbers.Real) or not (
        math.isfinite(cash_reserve) and 0.0 <= cash_reserve < 1.0
    ):
        raise ValueError(f"cash_reserve must be a fraction in [0, 1), got {cash_reserve!r}")
    if lot_method not in LOT_METHOD_CODES or lot_method == "specific":
        allowed = sorted(set(LOT_METHOD_CODES) - {"specific"})
        raise ValueError(f"lot_method must be one of {allowed}, got {lot_method!r}")


def _pack(mode, frequency, threshold, lot_method, min_trade, cash_reserve, weights, deferred,
          exempt) -> np.ndarray:
    fixed = np.zeros(PARAM_PER_ASSET)
    fixed[PARAM_MODE] = mode
    fixed[PARAM_MONTHS] = PERIOD_MONTHS[frequency]
    fixed[PARAM_THRESHOLD] = float(threshold)
    fixed[PARAM_LOT_METHOD] = LOT_METHOD_CODES[lot_method]
    fixed[PARAM_MIN_TRADE] = float(min_trade)
    fixed[PARAM_CASH_RESERVE] = float(cash_reserve)
    fixed[PARAM_LAST_PERIOD] = -1.0
    fixed[PARAM_N_ASSETS] = len(weights)
    return np.concatenate([fixed, weights, np.asarray(deferred, np.float64),
                           np.asarray(exempt, np.float64)])


def household_mix(
    target: Mapping[str, float],
    tickers: Sequence[str],
    frequency: str = "quarterly",
    *,
    min_trade: float = 10.0,
    cash_reserve: float = 0.0,
) -> Strategy:
    """The non-managed twin of :func:`asset_location`: the household mix in every account.

    Each account holds ``target`` (ticker -> weight) of its own investable value, rebalanced
    to it on the first trading day of each period (FIFO lots); on other days new cash buys the
    account's underweight assets. ``tickers``: the market's tickers in column order.

    Raises
    ------
    ValueError
        As :func:`asset_location` (the message names the field or ticker).
    """
    tickers = list(tickers)
    _common(frequency, 0.0, min_trade, cash_reserve, "fifo")
    weights = _target_weights(target, tickers)
    order = np.arange(len(tickers))
    params = _pack(MODE_MIX, frequency, 0.0, "fifo", min_trade, cash_reserve, weights, order,
                   order)
    return Strategy(f"household mix in every account ({frequency})", asset_location_decide_nb,
                    params, lot_method="fifo", invests_flows=True, uses_targets=False,
                    description="every account holds the household target mix, rebalanced on "
                    "the first trading day of each " + PERIOD_NAMES[frequency])


def asset_location(
    market,
    target: Mapping[str, float],
    frequency: str = "quarterly",
    threshold: float = 0.02,
    *,
    expected_growth: Mapping[str, float] | None = None,
    lot_method: str = "tax_optimal",
    min_trade: float = 10.0,
    cash_reserve: float = 0.0,
) -> Strategy:
    """Hold one household target across accounts, placing assets by tax efficiency.

    Parameters
    ----------
    market : taxsim.Market
        The run's market: its tickers (column order) and metadata ``tax_character``,
        ``asset_class`` and ``qualified_fraction`` rank the assets (:func:`location_ranking`).
    target : mapping of ticker to float
        Household weights, fractions of the household's investable value (sum <= 1; the rest
        stays in cash, in every account in proportion to its value).
    frequency : {"monthly", "quarterly", "yearly"}
        When to look for drift; the first trading day of the run always rebalances.
    threshold : float
        Weight points of the household's investable value: a period start rebalances only
        when some asset's dollars in some account group (tax-deferred, tax-exempt, taxable)
        differ from the plan by more than this.
    expected_growth : mapping of ticker to float, optional
        Annual expected return per ticker, ranking the tax-exempt (Roth) fill; tickers left
        out use :data:`DEFAULT_GROWTH` of their tax character.
    lot_method : str
        Lot method of the sells (and of the engine's sales for taxes and withdrawals).
    min_trade : float
        Dollars; smaller trades are skipped.
    cash_reserve : float
        Fraction of each account's value kept in cash for trading costs, in [0, 1).

    Returns
    -------
    taxsim.engine.Strategy
        Decide :func:`asset_location_decide_nb` (``uses_targets=False``: run it with
        ``targets={}``; :func:`~taxsim.engine.simulate` refuses per-account weights),
        ``invests_flows=True``, params packed as the module docstring says; twin
        :func:`household_mix` (same target and frequency, FIFO).

    Raises
    ------
    ValueError
        An empty target, an unknown ticker (in ``target`` or ``expected_growth``), a negative
        or non-finite weight, weights summing to 0 or above 1; an unknown ``frequency`` or
        ``lot_method``; a negative ``threshold`` or ``min_trade``; ``cash_reserve`` outside
        [0, 1). The message names the field and the ticker.
    """
    tickers = list(market.tickers)
    _common(frequency, threshold, min_trade, cash_reserve, lot_method)
    weights = _target_weights(target, tickers)
    deferred, exempt = location_ranking(market, expected_growth)
    params = _pack(MODE_LOCATION, frequency, threshold, lot_method, min_trade, cash_reserve,
                   weights, [tickers.index(t) for t in deferred],
                   [tickers.index(t) for t in exempt])
    twin = household_mix(target, tickers, frequency, min_trade=min_trade,
                         cash_reserve=cash_reserve)
    return Strategy(f"asset location ({frequency}, ±{threshold * 100:g} pts)",
                    asset_location_decide_nb, params, lot_method=lot_method, invests_flows=True,
                    uses_targets=False,
                    description="one household target; tax-inefficient assets in tax-deferred "
                    "accounts, highest growth in tax-exempt ones, the rest taxable; coordinated "
                    "rebalance on the first trading day of each " + PERIOD_NAMES[frequency]
                    + f" when an account group drifts more than {threshold * 100:g} pts",
                    twin=twin)
