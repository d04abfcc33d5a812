"""Drift-band rebalancing: trade only when an asset's weight leaves its band around the target.

The band of an asset is ``target ± half_width`` (weights, fractions of the account's value).
``half_width`` is the smaller of the enabled thresholds (absolute weight points and a fraction
of the target), so a band is breached as soon as *either* threshold is exceeded (the "5/25"
rule with the defaults), unless a per-asset tolerance replaces it. Each asset is tested on its
own check days (every N trading days); a breach on any checked asset rebalances its account.
With ``cash_flow_only`` the bands are not used: cash flows alone steer each account toward its
targets (:func:`cash_flow_orders`).

Everything the decide function needs is packed into the flat float64 ``params`` array; the
offsets are the ``PARAM_*`` constants below. Per-asset blocks follow the fixed fields:
``params[PARAM_PER_ASSET + i]`` is asset ``i``'s tolerance (``DISABLED``: default rule) and
``params[PARAM_PER_ASSET + n + i]`` its check interval in trading days (``n`` =
``params[PARAM_N_ASSETS]``; 0 means no per-asset blocks: every asset uses the defaults).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np
from numba import njit

from strategies.rebalance import DISABLED, account_value_nb, optional_nonnegative, write_order_nb
from taxsim.engine import Strategy
from taxsim.ledger.enums import LOT_METHOD_CODES

TO_TARGET = 0
TO_EDGE = 1
REBALANCE_TO_CODES = {"target": TO_TARGET, "edge": TO_EDGE}
SCOPE_ACCOUNT = 0
SCOPE_BREACHED = 1
SCOPE_CODES = {"account": SCOPE_ACCOUNT, "breached": SCOPE_BREACHED}
BREACH_SLACK = 1e-12  # weight: float noise at a band edge is not a breach

PARAM_ABSOLUTE = 0  # weight points (0.05 = ±5 percentage points); DISABLED: off
PARAM_RELATIVE = 1  # fraction of the target weight (0.25 = ±25% of target); DISABLED: off
PARAM_REBALANCE_TO = 2  # TO_TARGET or TO_EDGE
PARAM_SCOPE = 3  # SCOPE_ACCOUNT or SCOPE_BREACHED
PARAM_CASH_FLOW_ONLY = 4  # 1: never sell, buy underweight assets with spare cash only
PARAM_LOT_METHOD = 5  # ledger lot method code of the strategy's sells
PARAM_MIN_TRADE = 6  # dollars: smaller trades are skipped
PARAM_CASH_RESERVE = 7  # fraction of each account's value kept in cash (for costs)
PARAM_N_ASSETS = 8  # assets in the per-asset blocks (0: none, defaults everywhere)
PARAM_WITHDRAWAL_LOT_METHOD = 9  # lot method code of cash_flow_only's sales for a shortfall
PARAM_PER_ASSET = 10  # first per-asset field: n tolerances (weight points), n check intervals


def band_half_width(absolute, relative, tolerance, target):
    """Half-width of an asset's band around ``target`` (weight points, >= 0): its per-asset
    ``tolerance`` when set (>= 0), else the smaller of the enabled thresholds ``absolute``
    (weight points) and ``relative × target`` (``DISABLED``, negative: off)."""
    if tolerance >= 0.0:
        return tolerance
    half_width = np.inf
    if absolute >= 0.0:
        half_width = absolute
    if relative >= 0.0 and relative * target < half_width:  # the smaller enabled width
        half_width = relative * target
    return half_width


# scalars only: an array argument costs an atomic reference-count pair per call (about 16 ns),
# more than the test itself, and these run for every asset on every day
band_half_width_nb = njit(cache=True)(band_half_width)


def asset_tolerance(params, asset):
    """``asset``'s per-asset tolerance (weight points), or ``DISABLED`` (default rule)."""
    if params[PARAM_N_ASSETS] > 0.0:
        return params[PARAM_PER_ASSET + asset]
    return DISABLED


def check_interval(params, asset):
    """``asset``'s check interval in trading days (1: daily)."""
    n_assets = int(params[PARAM_N_ASSETS])
    if n_assets > 0:
        return int(params[PARAM_PER_ASSET + n_assets + asset])
    return 1


asset_tolerance_nb = njit(cache=True)(asset_tolerance)
check_interval_nb = njit(cache=True)(check_interval)


def investable_value(prices, holdings, cash, targets, account, params):
    """(account value, investable value) in dollars: the investable value is the account's
    value less the cash reserve, or 0.0 where the targets of the priced assets sum to zero
    (such an account is left alone)."""
    total_value = account_value_nb(prices, holdings, cash, account)
    target_sum = 0.0
    for asset in range(holdings.shape[1]):
        if math.isfinite(prices[asset]):
            target_sum += targets[account, asset]
    if target_sum <= 0.0:
        return total_value, 0.0
    return total_value, total_value * (1.0 - params[PARAM_CASH_RESERVE])


investable_value_nb = njit(cache=True)(investable_value)


def cash_flow_orders(prices, holdings, cash, targets, account, params, orders, n_orders):
    """``cash_flow_only``: orders that steer one account's cash flows toward its targets;
    returns the order count.

    Spare cash (cash above the reserve: contributions, distributions kept as cash), once at
    least the smallest trade, buys the underweight assets in proportion to their shortfall
    below target (dollars), never past it. Negative cash (a withdrawal, or a tax paid from the
    portfolio) is raised, back to the reserve, by selling the overweight assets in proportion
    to their excess over target, never below it, with the withdrawal lot method
    (``PARAM_WITHDRAWAL_LOT_METHOD``); what that cannot raise the engine sells pro rata.
    Nothing else trades: an asset out of its band is only diluted (or drawn down) by flows.
    """
    n_assets = holdings.shape[1]
    total_value, investable = investable_value_nb(prices, holdings, cash, targets, account,
                                                  params)
    if investable <= 0.0:
        return n_orders
    smallest = max(params[PARAM_MIN_TRADE], 1e-9 * investable)
    spare = cash[account] - (total_value - investable)  # dollars above the reserve
    buying = spare >= smallest
    if not buying and not (cash[account] < 0.0 and spare <= -smallest):
        return n_orders
    room = 0.0  # dollars: shortfalls below target (buying) or excesses over it (selling)
    for asset in range(n_assets):
        if math.isfinite(prices[asset]):
            gap = targets[account, asset] * investable - holdings[account, asset] * prices[asset]
            room += max(gap if buying else -gap, 0.0)
    if room <= 0.0:
        return n_orders
    fraction = min(1.0, abs(spare) / room)
    method = params[PARAM_LOT_METHOD] if buying else params[PARAM_WITHDRAWAL_LOT_METHOD]
    for asset in range(n_assets):
        if not math.isfinite(prices[asset]):
            continue
        gap = targets[account, asset] * investable - holdings[account, asset] * prices[asset]
        dollars = max(gap if buying else -gap, 0.0) * fraction
        if dollars < smallest:
            continue
        shares = dollars / prices[asset]
        if not buying:
            shares = -min(shares, holdings[account, asset])
        n_orders = write_order_nb(orders, n_orders, account, asset, shares, method)
    return n_orders


cash_flow_orders_nb = njit(cache=True)(cash_flow_orders)


def drift_band_orders(day_index, prices, holdings, cash, targets, account, params, orders,
                      n_orders):
    """Orders for one account if a checked asset has left its band (with ``cash_flow_only``:
    :func:`cash_flow_orders`, whatever the bands); returns the order count.

    Weights are market values over the investable value, ``account value × (1 −
    cash_reserve)`` (dollars), so that a rebalanced asset sits exactly at its target. Accounts
    whose listed targets sum to zero, and assets without a price yet, are left alone. Buys never
    spend more than the account's cash above the reserve plus the day's sales.
    """
    if params[PARAM_CASH_FLOW_ONLY] > 0.0:
        return cash_flow_orders_nb(prices, holdings, cash, targets, account, params, orders,
                                   n_orders)
    n_assets = holdings.shape[1]
    total_value, investable = investable_value_nb(prices, holdings, cash, targets, account,
                                                  params)
    if investable <= 0.0:
        return n_orders
    to_edge = params[PARAM_REBALANCE_TO] == TO_EDGE
    only_breached = params[PARAM_SCOPE] == SCOPE_BREACHED
    current = np.zeros(n_assets)  # dollars held
    desired = np.zeros(n_assets)  # dollars wanted after the rebalance
    primary = np.zeros(n_assets, np.bool_)  # assets moved by the rule itself
    breached = False
    for asset in range(n_assets):
        if not math.isfinite(prices[asset]):
            continue
        current[asset] = holdings[account, asset] * prices[asset]
        desired[asset] = current[asset]
        if day_index % check_interval_nb(params, asset) != 0:
            continue
        target = targets[account, asset]
        half_width = band_half_width_nb(params[PARAM_ABSOLUTE], params[PARAM_RELATIVE],
                                        asset_tolerance_nb(params, asset), target)
        weight = current[asset] / investable
        if abs(weight - target) <= half_width + BREACH_SLACK:
            continue
        breached = True
        primary[asset] = True
        if not to_edge:
            desired[asset] = target * investable
        elif weight > target:
            desired[asset] = (target + half_width) * investable
        else:
            desired[asset] = max(target - half_width, 0.0) * investable
    if not breached:
        return n_orders
    if not to_edge and not only_breached:
        for asset in range(n_assets):
            if math.isfinite(prices[asset]):
                primary[asset] = True
                desired[asset] = targets[account, asset] * investable
    # cash above the reserve once the rule's own trades are done (dollars; may be negative)
    spare = cash[account] - (total_value - investable)
    for asset in range(n_assets):
        spare -= desired[asset] - current[asset]
    if not only_breached or spare < 0.0:
        # the other assets of the account absorb the net cash, moving toward their targets;
        # in the breached scope only a shortfall: the breached buys the cash cannot pay are
        # paid by selling the other overweight assets (else an underweight breach in an
        # account without cash would never be bought)
        room = 0.0
        for asset in range(n_assets):
            if primary[asset] or not math.isfinite(prices[asset]):
                continue
            gap = targets[account, asset] * investable - current[asset]
            if (spare > 0.0 and gap > 0.0) or (spare < 0.0 and gap < 0.0):
                room += abs(gap)
        if room > 0.0:
            fraction = min(1.0, abs(spare) / room)
            for asset in range(n_assets):
                if primary[asset] or not math.isfinite(prices[asset]):
                    continue
                gap = targets[account, asset] * investable - current[asset]
                if (spare > 0.0 and gap > 0.0) or (spare < 0.0 and gap < 0.0):
                    desired[asset] = current[asset] + gap * fraction
    smallest = max(params[PARAM_MIN_TRADE], 1e-9 * investable)
    for asset in range(n_assets):
        if abs(desired[asset] - current[asset]) < smallest:
            desired[asset] = current[asset]
    # buys are paid by spare cash and the sales; scale them down (pro rata) when short
    buys = 0.0
    funds = cash[account] - (total_value - investable)
    for asset in range(n_assets):
        delta = desired[asset] - current[asset]
        if delta > 0.0:
            buys += delta
        else:
            funds -= delta
    if buys > 0.0 and buys > funds:
        scale = max(funds, 0.0) / buys
        for asset in range(n_assets):
            delta = desired[asset] - current[asset]
            if delta > 0.0:
                desired[asset] = current[asset] + delta * scale
                if delta * scale < smallest:
                    desired[asset] = current[asset]
    lot_method = params[PARAM_LOT_METHOD]
    for asset in range(n_assets):
        delta = desired[asset] - current[asset]
        if delta == 0.0:
            continue
        shares = max(delta / prices[asset], -holdings[account, asset])
        n_orders = write_order_nb(orders, n_orders, account, asset, shares, lot_method)
    return n_orders


drift_band_orders_nb = njit(cache=True)(drift_band_orders)


def drift_bands_idle(day_index, day, prices, holdings, cash, targets, state, params, orders):
    """True when no account has a checked asset out of its band (``Strategy.idle``); with
    ``cash_flow_only``, when no account has spare cash to invest or negative cash to raise.

    The band test of :func:`drift_band_orders`, written out here: numba prunes the reference
    counts of this function's arguments only if it calls nothing that takes arrays, and it
    runs every day (a call of ``decide`` costs an atomic reference-count pair per array
    argument).
    """
    n_accounts, n_assets = holdings.shape
    per_asset = int(params[PARAM_N_ASSETS])
    if per_asset != 0 and per_asset != n_assets:
        return False  # decide raises
    cash_flow_only = params[PARAM_CASH_FLOW_ONLY] > 0.0
    for account in range(n_accounts):
        total_value = cash[account]
        target_sum = 0.0
        for asset in range(n_assets):
            if math.isfinite(prices[asset]):
                target_sum += targets[account, asset]
                if holdings[account, asset] != 0.0:
                    total_value += holdings[account, asset] * prices[asset]
        investable = total_value * (1.0 - params[PARAM_CASH_RESERVE])
        if investable <= 0.0 or target_sum <= 0.0:
            continue
        if cash_flow_only:  # the test of cash_flow_orders: spare cash, or cash to raise
            smallest = max(params[PARAM_MIN_TRADE], 1e-9 * investable)
            spare = cash[account] - (total_value - investable)
            if spare >= smallest or (cash[account] < 0.0 and spare <= -smallest):
                return False
            continue
        per_dollar = 1.0 / investable
        for asset in range(n_assets):
            if not math.isfinite(prices[asset]):
                continue
            tolerance = DISABLED
            if per_asset > 0:
                tolerance = params[PARAM_PER_ASSET + asset]
                if day_index % int(params[PARAM_PER_ASSET + per_asset + asset]) != 0:
                    continue
            target = targets[account, asset]
            weight = holdings[account, asset] * prices[asset] * per_dollar
            if abs(weight - target) > band_half_width_nb(params[PARAM_ABSOLUTE],
                                                         params[PARAM_RELATIVE], tolerance,
                                                         target) + BREACH_SLACK:
                return False
    return True


# error_model="numpy": no exception paths for integer and float divisions (every divisor is
# checked first), which would keep numba from pruning the arguments' reference counts
drift_bands_idle_nb = njit(cache=True, error_model="numpy")(drift_bands_idle)


def drift_bands_decide(day_index, day, prices, holdings, cash, targets, state, params, orders):
    """Rebalance each account in which a checked asset has drifted out of its band."""
    n_assets = int(params[PARAM_N_ASSETS])
    if n_assets != 0 and n_assets != holdings.shape[1]:
        raise ValueError("drift_bands: the tickers given to the factory do not match the "
                         "market's assets (pass market.tickers)")
    n_orders = 0
    if drift_bands_idle_nb(day_index, day, prices, holdings, cash, targets, state, params,
                           orders):
        return n_orders
    for account in range(holdings.shape[0]):  # an account without a breach writes nothing
        n_orders = drift_band_orders_nb(day_index, prices, holdings, cash, targets, account,
                                        params, orders, n_orders)
    return n_orders


drift_bands_decide_nb = njit(cache=True)(drift_bands_decide)


def drift_bands(
    absolute: float | None = 0.05,
    relative: float | None = 0.25,
    *,
    tickers: Sequence[str] | None = None,
    tolerances: Mapping[str, float] | None = None,
    check_every: Mapping[str, int] | None = None,
    scope: str = "account",
    rebalance_to: str = "target",
    cash_flow_only: bool = False,
    lot_method: str = "fifo",
    min_trade: float = 10.0,
    cash_reserve: float = 0.0,
) -> Strategy:
    """Rebalance when an asset's weight drifts out of its band around the target.

    A weight is an asset's market value over the account's investable value, ``(cash + market
    value of the holdings) × (1 − cash_reserve)`` (dollars), compared with the target weight of
    the day's schedule. An asset's band is ``target ± half_width``; it is breached when
    ``|weight − target| > half_width``. ``half_width`` (weight points) is the smaller of the
    enabled thresholds, ``absolute`` and ``relative × target``: a band is breached as soon as
    either threshold is exceeded. A per-asset tolerance replaces both for its asset.

    Parameters
    ----------
    absolute : float or None
        Absolute threshold in weight points (0.05 = ±5 percentage points of the account's
        value). None disables it.
    relative : float or None
        Relative threshold as a fraction of the target weight (0.25 = ±25% of the target, so
        ±2.5 points for a 10% target, and no room at all for a zero target). None disables it.
        At least one of ``absolute`` and ``relative`` must be enabled.
    tickers : sequence of str, optional
        The market's tickers in column order (``market.tickers``); needed when ``tolerances``
        or ``check_every`` is given. The run refuses a market with a different number of assets.
    tolerances : mapping of ticker to float, optional
        Per-asset band half-width in weight points; replaces the default rule for that asset
        (both ``absolute`` and ``relative``).
    check_every : mapping of ticker to int, optional
        Per-asset check interval in trading days (default 1: daily). An asset is tested only on
        trading days whose index in the market (day 0 = first day of the run) is a multiple of
        its interval, so volatile assets can be checked more often than stable ones.
    scope : {"account", "breached"}
        What a breach rebalances. "account": the whole account (every listed asset of it);
        "breached": only the assets found out of band that day go to their target (or
        edge); the cash their sales free stays in cash, and what their buys need beyond the
        account's cash and those sales is raised by selling the account's other overweight
        assets in proportion to their excess over target, never below it (what that cannot
        raise limits the buys).
    rebalance_to : {"target", "edge"}
        "target": traded assets go back to their target weights. "edge": a breached asset goes
        only back to its nearest band edge (``target ± half_width``); with ``scope="account"``
        the net cash of those trades is then spread over the account's other assets toward
        (never past) their targets, in proportion to their distance from target.
    cash_flow_only : bool
        Rebalance with cash flows only, never selling to rebalance (``invests_flows=True``: the
        strategy invests contributions itself). Each day an account's spare cash (cash above
        the reserve: contributions, distributions kept as cash), once at least ``min_trade``,
        buys its underweight assets in proportion to their shortfall below target, never past
        it; overweight assets are only diluted. A cash shortfall (a withdrawal, or a tax paid
        from the portfolio) is raised, back to the reserve, by selling the overweight assets in
        proportion to their excess over target, never below it, lots chosen by the withdrawal
        method (tax-optimal; FIFO in the non-managed twin); what that cannot raise the engine
        sells pro rata. The bands, ``scope`` and ``rebalance_to`` do not apply.
    lot_method : str
        Ledger lot method of the strategy's sells (and of the engine's sells for taxes paid
        from the portfolio; withdrawals choose lots tax-aware, ``Strategy.withdrawal_lot_method``):
        "fifo", "lifo", "hifo", "tax_optimal", "gains_first" or "average". With
        ``cash_flow_only`` the strategy's shortfall sales use the withdrawal method instead.
    min_trade : float
        Dollars; smaller trades are skipped.
    cash_reserve : float
        Fraction of each account's value kept in cash for trading costs, in [0, 1).

    Returns
    -------
    taxsim.engine.Strategy
        Decide function :func:`drift_bands_decide_nb` with the packed ``params`` (offsets:
        the ``PARAM_*`` constants of this module). With ``cash_flow_only``: ``invests_flows``
        and a twin that differs only in FIFO withdrawal lots.

    Raises
    ------
    ValueError
        A negative or non-finite threshold, tolerance, ``min_trade`` or ``cash_reserve``; both
        thresholds None; an unknown ``scope``, ``rebalance_to`` or ``lot_method``; per-asset
        options without ``tickers``; an unknown or duplicate ticker; a check interval that is
        not a whole number >= 1. The message names the field (and the ticker).

    Notes
    -----
    Buys never spend more than the account's cash above the reserve plus the same day's sales;
    when short they are scaled down pro rata. Accounts whose targets sum to zero are left alone.
    Assets without a price yet (not listed) are neither checked nor traded.
    """
    absolute_value = optional_nonnegative("absolute", absolute)
    relative_value = optional_nonnegative("relative", relative)
    if absolute is None and relative is None:
        raise ValueError("absolute and relative are both None: enable at least one threshold")
    if scope not in SCOPE_CODES:
        raise ValueError(f"scope must be one of {sorted(SCOPE_CODES)}, got {scope!r}")
    if rebalance_to not in REBALANCE_TO_CODES:
        raise ValueError(
            f"rebalance_to must be one of {sorted(REBALANCE_TO_CODES)}, got {rebalance_to!r}"
        )
    if lot_method not in LOT_METHOD_CODES or lot_method == "specific":
        allowed = sorted(set(LOT_METHOD_CODES) - {"specific"})
        raise ValueError(f"lot_method must be one of {allowed}, got {lot_method!r}")
    if not isinstance(cash_flow_only, bool):
        raise ValueError(f"cash_flow_only must be True or False, got {cash_flow_only!r}")
    if not (math.isfinite(min_trade) and min_trade >= 0.0):
        raise ValueError(f"min_trade must be a finite number of dollars >= 0, got {min_trade!r}")
    if not (math.isfinite(cash_reserve) and 0.0 <= cash_reserve < 1.0):
        raise ValueError(f"cash_reserve must be a fraction in [0, 1), got {cash_reserve!r}")

    per_asset_tolerance = np.zeros(0)
    per_asset_interval = np.zeros(0)
    if (tolerances or check_every) and tickers is None:
        raise ValueError("tickers (market.tickers) is needed with tolerances or check_every")
    if tickers is not None:
        tickers = list(tickers)
        duplicates = sorted({t for t in tickers if tickers.count(t) > 1})
        if duplicates:
            raise ValueError(f"tickers: duplicate ticker {duplicates[0]!r}")
        if not tickers:
            raise ValueError("tickers is empty")
        per_asset_tolerance = np.full(len(tickers), DISABLED)
        per_asset_interval = np.ones(len(tickers))
        for ticker, tolerance in (tolerances or {}).items():
            if ticker not in tickers:
                raise ValueError(f"tolerances: unknown ticker {ticker!r}; tickers are {tickers}")
            if tolerance is None:
                raise ValueError(f"tolerances[{ticker!r}] must be a number, got None")
            per_asset_tolerance[tickers.index(ticker)] = optional_nonnegative(
                f"tolerances[{ticker!r}]", tolerance
            )
        for ticker, interval in (check_every or {}).items():
            if ticker not in tickers:
                raise ValueError(f"check_every: unknown ticker {ticker!r}; tickers are {tickers}")
            whole = isinstance(interval, numbers.Integral) or (
                isinstance(interval, float) and interval.is_integer()
            )
            if isinstance(interval, bool) or not whole or interval < 1:
                raise ValueError(
                    f"check_every[{ticker!r}] must be a whole number of trading days >= 1, "
                    f"got {interval!r}"
                )
            per_asset_interval[tickers.index(ticker)] = float(interval)

    fixed = np.zeros(PARAM_PER_ASSET)
    fixed[PARAM_ABSOLUTE] = absolute_value
    fixed[PARAM_RELATIVE] = relative_value
    fixed[PARAM_REBALANCE_TO] = REBALANCE_TO_CODES[rebalance_to]
    fixed[PARAM_SCOPE] = SCOPE_CODES[scope]
    fixed[PARAM_CASH_FLOW_ONLY] = 1.0 if cash_flow_only else 0.0
    fixed[PARAM_LOT_METHOD] = LOT_METHOD_CODES[lot_method]
    fixed[PARAM_MIN_TRADE] = min_trade
    fixed[PARAM_CASH_RESERVE] = cash_reserve
    fixed[PARAM_N_ASSETS] = len(per_asset_tolerance)
    fixed[PARAM_WITHDRAWAL_LOT_METHOD] = LOT_METHOD_CODES["tax_optimal"]
    params = np.concatenate([fixed, per_asset_tolerance, per_asset_interval])

    rules = []
    if absolute is not None:
        rules.append(f"±{absolute_value * 100:g} pts")
    if relative is not None:
        rules.append(f"±{relative_value * 100:g}% of target")
    label = " / ".join(rules) + f", to {rebalance_to}"
    if cash_flow_only:
        label += ", cash flows only"
    description = (
        f"rebalance ({scope} scope) when a weight leaves its band ({' or '.join(rules)}"
        + (", per-asset tolerances" if tolerances else "")
        + (", per-asset check intervals" if check_every else "")
        + f"), back to the {rebalance_to}"
        + ("; never sells to rebalance: new cash buys underweight assets, withdrawals sell "
           "overweight ones" if cash_flow_only else "")
    )
    strategy = Strategy(f"drift bands ({label})", drift_bands_decide_nb, params,
                        lot_method=lot_method, description=description,
                        idle=drift_bands_idle_nb, invests_flows=cash_flow_only,
                        withdrawal_lot_method="tax_optimal")
    if not cash_flow_only:
        return strategy
    # the strategy's own withdrawal sales carry the withdrawal lot method in params: the
    # non-managed twin (FIFO withdrawals, Strategy.non_managed) needs its own params
    twin_params = params.copy()
    twin_params[PARAM_WITHDRAWAL_LOT_METHOD] = LOT_METHOD_CODES["fifo"]
    twin = dataclasses.replace(strategy, params=twin_params, withdrawal_lot_method="fifo")
    return dataclasses.replace(strategy, twin=twin)
