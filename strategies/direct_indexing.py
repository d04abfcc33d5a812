"""Direct indexing: hold an index's stocks one by one and harvest losses lot by lot.

One **managed account** (``account``, an index of the household's accounts; taxable for any
harvesting) holds N stocks at index weights. Other accounts of the household are left alone
(their new money stays in cash), but their holdings count in every wash-sale check.

Index weights
-------------
``weights`` (``{ticker: weight}``, summing to at most 1, the rest in cash) are either
**cap weights** (``cap_weighted=True``, the default when weights are given): the weights on
the run's first day, which then drift with each stock's price, ``w_i,t ∝ w_i,0 P_i,t / P_i,0``
(market cap with constant shares outstanding; dividends are reinvested across the index), or
**fixed weights** (``cap_weighted=False``; the default for equal weight, ``weights=None``:
1/N of ``tickers``). The stock fraction ``S = Σ w`` stays constant.

Harvesting (every ``check_every`` trading days, in a taxable managed account)
------------------------------------------------------------------------------
A stock with a lot whose loss reaches ``threshold`` of its basis and ``threshold_dollars`` is
harvested: the lots at a loss are sold (lot method ``TAX_OPTIMAL``: losses first, so exactly
those lots are relieved), or the whole position when the account reinvests distributions (a
remaining lot would reinvest a dividend inside the 30-day window). A harvest is skipped, never
washed (IRC §1091(a); Pub 550 "Wash Sales"), when shares of the stock's identity group were
acquired in the last 30 days anywhere in the household (other than the lots sold), another
account that reinvests holds the group, a purchase of the group was written earlier today, the
sale is below ``min_trade``, or no replacement can be bought (or take any of it: each is
capped at :data:`PEER_MAX_MULTIPLE` times its weight).

Replacements: the proceeds (less ``cost_allowance``) buy up to ``n_replacements`` other index
stocks of the **same sector** (``market.sector``), those furthest below their index weight
first (ties: decreasing index weight; sector membership stands in for correlation: the
synthetic market's stocks correlate 0.5 within a sector, 0.3 across), spread pro rata to
their index weights. A candidate must be priced, in
another identity group, outside an open wash-sale window (``buy_would_wash``) and not sold at a
loss today. ``n_replacements=0`` uses every eligible stock of the sector.

Back to the index
-----------------
The account is rebalanced to the index weights on the first trading day of each ``rebalance``
period and, with ``return_after_window``, the harvested stock's **sector** is rebalanced on the
first day more than 30 calendar days after a harvest: the harvested stock can then be bought
again and its same-sector replacements are sold (the other sectors wait for the calendar). A
stock is traded when it is further than ``max(min_trade, band × its target dollars)`` from its
target; the buys are paid by cash and the day's sales, largest gap first.
Buys never go into a stock inside its wash-sale window (its weight waits in cash). Sales never
wash either (``loss_harvest.wash_safe_sale``, as in ``loss_harvest.sell_family``): a sale that may
realize a loss (a lot within ``LOSS_MARGIN`` of its basis) is made as asked when nothing can replace
it; in an account that reinvests (where a later reinvested dividend could wash any partial loss
sale, Pub 550) it is also made as asked when no lot is below its basis (it then realizes no loss
before its own trading costs), else cut to the lots at a gain, least tax first (``gains_first``),
when they cover it, else, for a rebalancing or return sale where a lot is below its basis and
selling the whole position cannot be washed, made for the **whole position** (its loss realized in
full, like a harvest; its weight goes to its buyable same-sector peers until the next calendar
rebalance). Otherwise the cut to gain lots defers the rest: until 30 days after the group's last
acquisition (in a reinvesting account: in another account), for as long as another reinvesting
account holds the group, and, under ``max_gain``, while a reinvesting position holds both lots
beyond the cap and lots below their basis. Rebalancing sales under a
gain cap (``max_gain`` not None, taxable account) relieve lots ``tax_optimal`` whatever
``lot_method`` (the cap counts losses first, then the cheapest lots; the trade log records
``tax_optimal``). On other days spare cash (contributions: ``invests_flows``;
dividends kept as cash) buys the stocks below target, largest shortfall first (fewest trades),
never a stock inside its window; a shortfall of cash (withdrawal, tax) is raised with the
same wash-safe sales (see the position limits below).

Position limits: a replacement (or a peer standing in for a stock inside its window) is
bought up to :data:`PEER_MAX_MULTIPLE` times its index weight; cash beyond every shortfall goes
to the buyable stocks up to ``(1 + band)`` times their target, never to a stock sold today; the
rest stays cash. A replacement queued today is cut before a rebalance sells held shares of the
same stock. A cash shortfall is raised every day, a rebalance day too (before the
rebalance), from the stocks furthest above their weight first.

The harvest check skips a stock in O(1) while its price is above ``(1 - threshold)`` times the
highest basis per share of its lots (``strategies.harvest_scan``).

The twin (``Strategy.twin``) runs the same decide with harvesting and wash-sale care off, FIFO
lots, the same rebalancing calendar: the basket bought and held (``rebalance=None``) or
rebalanced.

:func:`tracking` compares the managed account with the index (price + dividends) day by day:
annualized tracking error by :func:`taxsim.metrics.tracking_error`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numba import njit

from strategies.calendar_rebalance import PERIOD_MONTHS
from strategies.harvest_scan import forget_changed_lots_nb, no_lot_can_qualify_nb
from strategies.loss_harvest import (
    TODAY_BUY,
    TODAY_LOSS_SALE,
    group_traded_today_nb,
    harvest_size_nb,
    wash_safe_sale_nb,
)
from strategies.rebalance import (
    account_value_nb,
    period_index_nb,
    sale_proceeds_nb,
    write_order_nb,
)
from taxsim.engine import Strategy
from taxsim.ledger.enums import FIFO, LOT_METHOD_CODES, NO_SLOT, TAX_OPTIMAL, TAXABLE
from taxsim.ledger.wash_sales import (
    WASH_WINDOW_DAYS,
    buy_would_wash_nb,
)
from taxsim.market import Market
from taxsim.metrics import daily_returns, tracking_error

PARAM_MANAGED = 0  # 1: harvest and avoid wash sales; 0: the twin (FIFO, no care)
PARAM_THRESHOLD = 1  # fraction of a lot's basis its loss must reach
PARAM_THRESHOLD_DOLLARS = 2  # dollars a lot's loss must reach
PARAM_MIN_TRADE = 3  # dollars: smaller trades are skipped
PARAM_CHECK_EVERY = 4  # trading days between harvest checks
PARAM_REBALANCE_MONTHS = 5  # months between calendar rebalances (0: never)
PARAM_LAST_PERIOD = 6  # state: last rebalance period (-1 before the first)
PARAM_BAND = 7  # fraction of a stock's target dollars it may drift before a rebalance trades
PARAM_LOT_METHOD = 8  # lot method of rebalancing sales
PARAM_CASH_RESERVE = 9  # fraction of the account's value kept in cash
PARAM_COST_ALLOWANCE = 10  # fraction of proceeds held back for trading costs
PARAM_N_ASSETS = 11
PARAM_ACCOUNT = 12  # index of the managed account
PARAM_N_REPLACEMENTS = 13  # replacements per harvest (0: the whole sector)
PARAM_CAP_WEIGHTED = 14  # 1: weights drift with price; 0: fixed weights
PARAM_RETURN = 15  # 1: rebalance once a harvested stock's window has passed
PARAM_HARVESTS = 16  # state: number of harvests
PARAM_HARVESTED_LOSS = 17  # state: dollars of loss harvested (before costs)
PARAM_N_SECTORS = 18
PARAM_MAX_GAIN = 19  # fraction of a lot's value a rebalancing sale may realize (-1: no cap)
PARAM_ROWS_SEEN = 20  # state: realized rows of the ledger already seen by the scan cache
PARAM_PER_ASSET = 21  # start of the per-asset blocks
NO_DAY = -1.0
PEER_MAX_MULTIPLE = 2.0
"""A stock bought in place of a harvested stock, or of one inside its wash-sale window, is
filled up to at most this multiple of its own index weight (of the account's investable
value); what its peers cannot take stays cash for the day's other buys. Without a cap a sector
selloff funnels: every harvest of the sector feeds its few buyable stocks, which are harvested
in turn (a 500-stock equal-weight index once held 31% in one stock)."""


def weight_offset(n_assets):
    """``params[weight_offset + i]``: asset i's index weight on the first day (0: not held)."""
    return PARAM_PER_ASSET


def base_price_offset(n_assets):
    """State block: the first price seen of each asset (NaN before), for cap weights."""
    return PARAM_PER_ASSET + n_assets


def harvest_day_offset(n_assets):
    """State block: day of each asset's last harvest awaiting the return (-1: none)."""
    return PARAM_PER_ASSET + 2 * n_assets


def sector_offsets_offset(n_assets):
    """CSR offsets (n_sectors + 1) into the sector member block."""
    return PARAM_PER_ASSET + 3 * n_assets


def sector_members_offset(n_assets, n_sectors):
    """Index stocks grouped by sector, each sector in decreasing index weight."""
    return PARAM_PER_ASSET + 3 * n_assets + n_sectors + 1


def sector_of_offset(n_assets, n_sectors):
    """Each asset's sector number (-1: not an index stock or no sector)."""
    return PARAM_PER_ASSET + 4 * n_assets + n_sectors + 1


def scan_price_offset(n_assets, n_sectors):
    """State block: per asset, a price above which no lot of the managed account can reach
    the harvest threshold (NaN: unknown, scan the lots)."""
    return PARAM_PER_ASSET + 5 * n_assets + n_sectors + 1


def scan_shares_offset(n_assets, n_sectors):
    """State block: per asset, the managed account's shares when its scan price was found."""
    return PARAM_PER_ASSET + 6 * n_assets + n_sectors + 1


def params_size(n_assets, n_sectors):
    return PARAM_PER_ASSET + 7 * n_assets + n_sectors + 1


weight_offset_nb = njit(cache=True)(weight_offset)
base_price_offset_nb = njit(cache=True)(base_price_offset)
harvest_day_offset_nb = njit(cache=True)(harvest_day_offset)
sector_offsets_offset_nb = njit(cache=True)(sector_offsets_offset)
sector_members_offset_nb = njit(cache=True)(sector_members_offset)
sector_of_offset_nb = njit(cache=True)(sector_of_offset)
scan_price_offset_nb = njit(cache=True)(scan_price_offset)
scan_shares_offset_nb = njit(cache=True)(scan_shares_offset)


def index_targets(params, prices, target):
    """Fill ``target`` with today's index weights (fractions of the account); returns their
    sum (the stock fraction). Cap weights drift with price from the first price seen."""
    n_assets = target.shape[0]
    weights = weight_offset_nb(n_assets)
    bases = base_price_offset_nb(n_assets)
    cap = params[PARAM_CAP_WEIGHTED] > 0.0
    stock_fraction = 0.0
    total = 0.0
    for asset in range(n_assets):
        w = params[weights + asset]
        target[asset] = 0.0
        if w <= 0.0:
            continue
        stock_fraction += w
        if not math.isfinite(prices[asset]):
            continue
        if cap:
            if not math.isfinite(params[bases + asset]):
                params[bases + asset] = prices[asset]
            target[asset] = w * prices[asset] / params[bases + asset]
        else:
            target[asset] = w
        total += target[asset]
    if total <= 0.0:
        return 0.0
    for asset in range(n_assets):
        target[asset] *= stock_fraction / total
    return stock_fraction


index_targets_nb = njit(cache=True)(index_targets)


def buyable(state, params, asset, prices, day, today):
    """True if ``asset`` can be bought today: priced and, when managed, outside an open
    wash-sale window (IRC §1091(a): an acquisition within 30 days after a loss sale) and not
    sold at a loss earlier today."""
    if not math.isfinite(prices[asset]):
        return False
    if params[PARAM_MANAGED] <= 0.0:
        return True
    if buy_would_wash_nb(state, asset, day):
        return False
    return not group_traded_today_nb(state, today, TODAY_LOSS_SALE, asset)


buyable_nb = njit(cache=True)(buyable)


def spread_to_peers(state, params, account, asset, prices, holdings, day, today, target,
                    pending, dollars, out, investable, out_is_pending):
    """Add up to ``dollars`` to ``out`` for up to ``PARAM_N_REPLACEMENTS`` stocks of
    ``asset``'s sector, pro rata to their index weights: those furthest below their index
    weight (weight minus the account's, counting ``pending`` buys; ties in decreasing index
    weight), each priced, in another identity group, outside a wash-sale window and not sold
    at a loss today (IRC §1091(a)); they are marked as bought today. Each is filled up to
    :data:`PEER_MAX_MULTIPLE` times its index weight of ``investable`` (dollars), counting its
    holding, ``pending`` and (unless ``out_is_pending``) what ``out`` already gives it.
    Returns the dollars placed (0: nothing was written)."""
    n_assets = target.shape[0]
    n_sectors = int(params[PARAM_N_SECTORS])
    sector = int(params[sector_of_offset_nb(n_assets, n_sectors) + asset])
    if sector < 0:
        return 0
    offsets = sector_offsets_offset_nb(n_assets)
    members = sector_members_offset_nb(n_assets, n_sectors)
    first = int(params[offsets + sector])
    last = int(params[offsets + sector + 1])
    limit = int(params[PARAM_N_REPLACEMENTS])
    if limit <= 0:
        limit = last - first
    value = 0.0
    sector_target = 0.0
    for k in range(first, last):  # the sector's value and weight, to compare within it
        member = int(params[members + k])
        sector_target += target[member]
        if math.isfinite(prices[member]):
            value += holdings[account, member] * prices[member] + pending[member]
    value = max(value, 1e-9)
    chosen = np.empty(limit, np.int64)
    gaps = np.empty(limit)
    found = 0
    for k in range(first, last):  # keep the `limit` largest gaps (insertion, stable)
        candidate = int(params[members + k])
        if (candidate == asset or target[candidate] <= 0.0
                or state.asset_group[candidate] == state.asset_group[asset]
                or not buyable_nb(state, params, candidate, prices, day, today)):
            continue
        held = holdings[account, candidate] * prices[candidate] + pending[candidate]
        gap = target[candidate] - sector_target * held / value
        position = found if found < limit else limit
        while position > 0 and gaps[position - 1] < gap:
            if position < limit:
                chosen[position] = chosen[position - 1]
                gaps[position] = gaps[position - 1]
            position -= 1
        if position < limit:
            chosen[position] = candidate
            gaps[position] = gap
            if found < limit:
                found += 1
    if found == 0:
        return 0.0
    chosen_weight = 0.0
    for j in range(found):
        chosen_weight += target[chosen[j]]
    placed = 0.0
    for j in range(found):
        peer = chosen[j]
        already = holdings[account, peer] * prices[peer] + pending[peer]
        if not out_is_pending:
            already += out[peer]
        room = PEER_MAX_MULTIPLE * target[peer] * investable - already
        share = min(dollars * target[peer] / chosen_weight, max(room, 0.0))
        if share > 0.0:
            placed += share
            out[peer] += share
            today[TODAY_BUY, peer] = 1.0
    return placed


spread_to_peers_nb = njit(cache=True)(spread_to_peers)


def harvest_account(state, params, account, day, prices, holdings, cash, orders, n_orders,
                    target, pending, committed, today):
    """Sell the lots at a loss beyond the thresholds and queue same-sector replacements (each
    up to :data:`PEER_MAX_MULTIPLE` times its index weight; the rest of the proceeds is left
    to the day's other buys)."""
    n_assets = holdings.shape[1]
    investable = account_value_nb(prices, holdings, cash, account) * (
        1.0 - params[PARAM_CASH_RESERVE])
    n_sectors = int(params[PARAM_N_SECTORS])
    sector_of = sector_of_offset_nb(n_assets, n_sectors)
    harvest_days = harvest_day_offset_nb(n_assets)
    scan_price = scan_price_offset_nb(n_assets, n_sectors)
    scan_shares = scan_shares_offset_nb(n_assets, n_sectors)
    forget_changed_lots_nb(state, params, PARAM_ROWS_SEEN, scan_price, 1)
    for asset in range(n_assets):
        if holdings[account, asset] <= 0.0 or not math.isfinite(prices[asset]):
            continue
        if params[sector_of + asset] < 0:
            continue
        if no_lot_can_qualify_nb(state, params, account, asset, prices[asset],
                                 holdings[account, asset], params[PARAM_THRESHOLD],
                                 scan_price + asset, scan_shares + asset):
            continue  # O(1): no lot is down by the threshold at this price
        # IRC §1091(a): no acquisition of the group within 30 days before (any account, the
        # sold lots aside), none by dividend reinvestment after, none written earlier today
        sold_shares, _, realized = harvest_size_nb(
            state, today, account, asset, day, prices[asset], params[PARAM_THRESHOLD],
            params[PARAM_THRESHOLD_DOLLARS], params[PARAM_MIN_TRADE])
        if sold_shares == 0.0:
            continue
        proceeds = sold_shares * prices[asset] * (1.0 - params[PARAM_COST_ALLOWANCE])
        if spread_to_peers_nb(state, params, account, asset, prices, holdings, day, today,
                              target, pending, proceeds, pending, investable, True) <= 0.0:
            continue  # no same-sector replacement can take any of it: keep it, try later
        n_orders = write_order_nb(orders, n_orders, account, asset, -sold_shares, TAX_OPTIMAL)
        today[TODAY_LOSS_SALE, asset] += sold_shares
        committed[asset] += sold_shares
        params[harvest_days + asset] = day
        params[PARAM_HARVESTS] += 1.0
        params[PARAM_HARVESTED_LOSS] -= realized
    return n_orders


harvest_account_nb = njit(cache=True)(harvest_account)


def sell_asset(state, params, account, day, prices, holdings, orders, n_orders, committed,
               today, asset, dollars, smallest, capped):
    """Sell up to ``dollars`` of ``asset``. When managed, never a wash sale
    (``loss_harvest.wash_safe_sale``): a sale that may realize a loss at risk of washing is cut
    to the lots at a gain (``gains_first``), or, with ``capped`` in an account that
    reinvests, made for the whole position when that cannot be washed. With ``capped`` a sale
    in a taxable account is cut to the lots within ``PARAM_MAX_GAIN`` and relieves them
    ``TAX_OPTIMAL`` whatever ``PARAM_LOT_METHOD`` (the cap counts losses first, then the
    cheapest lots; so a cut to gain lots is dropped, and a whole position is sold only
    when all its lots are within the cap). Returns (orders, dollars sold), which a whole
    position can make more than ``dollars``."""
    price = prices[asset]
    held = holdings[account, asset] - committed[asset]
    if held <= 1e-12 or not math.isfinite(price) or dollars <= smallest:
        return n_orders, 0.0
    amount = min(dollars, held * price)
    method = params[PARAM_LOT_METHOD]
    managed_taxable = params[PARAM_MANAGED] > 0.0 and state.account_kind[account] == TAXABLE
    whole_ok = capped
    capped = capped and managed_taxable and params[PARAM_MAX_GAIN] >= 0.0
    if capped:
        allowed = capped_shares_nb(state, account, asset, price, params[PARAM_MAX_GAIN],
                                   committed[asset])
        if allowed < held - 1e-9:
            amount = min(amount, allowed * price)
            whole_ok = False
        method = TAX_OPTIMAL  # the cap assumes losses, then the cheapest lots, go first
    selling_all = amount >= held * price - 1e-9
    at_loss = False
    if managed_taxable:
        amount, selling_all, safe_method, at_loss = wash_safe_sale_nb(
            state, today, account, asset, day, price, held, committed[asset], amount, method,
            np.inf if whole_ok else 0.0)
        if capped and safe_method != method:
            return n_orders, 0.0  # gain lots only: beyond the cap
        method = safe_method
    if amount <= smallest:
        return n_orders, 0.0
    shares = held if selling_all else amount / price
    n_orders = write_order_nb(orders, n_orders, account, asset, -shares, method)
    committed[asset] += shares
    if at_loss:
        today[TODAY_LOSS_SALE, asset] += shares
    return n_orders, amount


sell_asset_nb = njit(cache=True)(sell_asset)


def capped_shares(state, account, asset, price, max_gain, skipped_shares):
    """Shares of the lots whose gain is at most ``max_gain`` of their value (losses
    included), less ``skipped_shares`` already sold today: what a tax-optimal sale (losses
    first, then least tax per dollar) may relieve under the cap (exact for a cap of 0)."""
    shares = 0.0
    slot = state.head[account, asset]
    while slot != NO_SLOT:
        value = state.lot_shares[slot] * price
        if value - state.lot_basis[slot] <= max_gain * value:
            shares += state.lot_shares[slot]
        slot = state.lot_next[slot]
    return max(0.0, shares - skipped_shares)


capped_shares_nb = njit(cache=True)(capped_shares)


def rebalance_account(state, params, account, day, prices, holdings, cash, orders, n_orders,
                      target, pending, committed, today, sector_due):
    """Sell stocks above target + band and queue buys of buyable stocks below target - band,
    for the stocks of the sectors with ``sector_due[sector]`` set (``sector_due[n_sectors]``:
    stocks outside the index's sectors). Buys are funded by cash and the sales (less the cost
    allowance), largest gap first, each up to its target."""
    n_assets = holdings.shape[1]
    n_sectors = int(params[PARAM_N_SECTORS])
    sector_of = sector_of_offset_nb(n_assets, n_sectors)
    investable = account_value_nb(prices, holdings, cash, account) * (
        1.0 - params[PARAM_CASH_RESERVE])
    if investable <= 0.0:
        return n_orders
    smallest = params[PARAM_MIN_TRADE]
    buys = np.zeros(n_assets)
    # today's harvest sales pay their buys
    funds = cash[account] + sale_proceeds_nb(orders, 0, n_orders, prices) * (
        1.0 - params[PARAM_COST_ALLOWANCE])
    for asset in range(n_assets):
        funds -= pending[asset]
        if (target[asset] <= 0.0 and holdings[account, asset] <= 0.0) or not math.isfinite(
                prices[asset]):
            continue
        sector = int(params[sector_of + asset])
        if not sector_due[sector if sector >= 0 else n_sectors]:
            continue
        wanted = target[asset] * investable
        current = (holdings[account, asset] - committed[asset]) * prices[asset] + pending[asset]
        delta = wanted - current
        gate = max(smallest, params[PARAM_BAND] * wanted)
        if delta > gate:
            if buyable_nb(state, params, asset, prices, day, today):
                buys[asset] = delta
        elif delta < -gate:
            # a replacement queued today makes it overweight: buy less before selling shares
            # held (selling them to make room for the buy is a round trip for nothing)
            cut = min(pending[asset], -delta)
            pending[asset] -= cut
            funds += cut
            delta += cut
            if delta < -gate:
                n_orders, sold = sell_asset_nb(state, params, account, day, prices, holdings,
                                               orders, n_orders, committed, today, asset,
                                               -delta, smallest, True)
                funds += sold * (1.0 - params[PARAM_COST_ALLOWANCE])
    # buys go to the largest gaps first, each in full, as far as cash and the sales pay: a
    # sale held back by the gain cap leaves a few stocks short, not every stock a little short
    order = np.argsort(-buys, kind="mergesort")
    for k in range(n_assets):
        asset = order[k]
        dollars = min(buys[asset], funds)
        if buys[asset] <= 0.0 or dollars < smallest:
            break
        pending[asset] += dollars
        today[TODAY_BUY, asset] = 1.0
        funds -= dollars
    return n_orders


rebalance_account_nb = njit(cache=True)(rebalance_account)


def invest_cash(state, params, account, day, prices, holdings, cash, target, stock_fraction,
                pending, committed, today, proceeds):
    """Queue the spare cash (cash + ``proceeds`` of today's sales - buys already queued - the
    index's cash share) for the buyable stocks below target, largest shortfall first, each
    filled up to its target (no buy below ``PARAM_MIN_TRADE``); the shortfall of a stock inside
    its wash-sale window goes to its same-sector peers; cash beyond every shortfall is spread
    pro rata to the buyable stocks' weights."""
    n_assets = holdings.shape[1]
    value = account_value_nb(prices, holdings, cash, account)
    investable = value * (1.0 - params[PARAM_CASH_RESERVE])
    queued = 0.0
    for asset in range(n_assets):
        queued += pending[asset]
    spare = cash[account] + proceeds - queued - (value - stock_fraction * investable)
    if spare <= params[PARAM_MIN_TRADE] or investable <= 0.0:
        return
    short = np.zeros(n_assets)
    weight_total = 0.0
    for asset in range(n_assets):
        if target[asset] <= 0.0 or not math.isfinite(prices[asset]):
            continue
        if committed[asset] > 0.0:
            continue  # sold today: not bought back the same day (a round trip for nothing)
        current = (holdings[account, asset] - committed[asset]) * prices[asset] + pending[asset]
        missing = max(0.0, target[asset] * investable - current)
        if buyable_nb(state, params, asset, prices, day, today):
            short[asset] += missing
            weight_total += target[asset]
        elif missing > 0.0:
            spread_to_peers_nb(state, params, account, asset, prices, holdings, day, today,
                               target, pending, missing, short, investable, False)
    if weight_total <= 0.0:
        return
    short_total = 0.0
    n_short = 0
    for asset in range(n_assets):
        short_total += short[asset]
        if short[asset] > 0.0:
            n_short += 1
    if spare < short_total:
        # fill the largest shortfalls first: fewest trades, the biggest gaps closed
        short_assets = np.empty(n_short, np.int64)
        position = 0
        for asset in range(n_assets):
            if short[asset] > 0.0:
                short_assets[position] = asset
                position += 1
        order = np.argsort(-short[short_assets], kind="mergesort")
        left = spare
        for k in range(n_short):
            asset = short_assets[order[k]]
            dollars = min(short[asset], left)
            if dollars < params[PARAM_MIN_TRADE]:
                break
            pending[asset] += dollars
            today[TODAY_BUY, asset] = 1.0
            left -= dollars
        return
    rest = spare - short_total
    for asset in range(n_assets):
        if short[asset] <= 0.0 and (
                target[asset] <= 0.0 or not buyable_nb(state, params, asset, prices, day, today)):
            continue
        dollars = short[asset]
        if (rest > 0.0 and target[asset] > 0.0 and committed[asset] <= 0.0
                and buyable_nb(state, params, asset, prices, day, today)):
            # up to the band's upper edge: while much of the index is inside wash-sale windows
            # the rest must neither pile into the few stocks that can be bought nor make
            # stocks that the next rebalance sells again; what is left stays cash
            held = (holdings[account, asset] - committed[asset]) * prices[asset] + pending[asset]
            room = (1.0 + params[PARAM_BAND]) * target[asset] * investable - held - dollars
            dollars += min(rest * target[asset] / weight_total, max(room, 0.0))
        if dollars > 0.0:
            pending[asset] += dollars
            today[TODAY_BUY, asset] = 1.0


invest_cash_nb = njit(cache=True)(invest_cash)


def raise_shortfall(state, params, account, day, prices, holdings, cash, target, orders,
                    n_orders, committed, today):
    """Sell, wash-safe, enough to bring negative cash back to zero: first from the stocks
    most above their index weight (down to it), then from the largest positions; whatever is
    left the engine sells pro rata. Sales below ``PARAM_MIN_TRADE`` are not made: a shortfall
    of trading costs is not spread over every stock in sales of a few dollars, each a loss
    sale that would close its stock to buys for 30 days."""
    if cash[account] >= -params[PARAM_MIN_TRADE]:
        return n_orders
    needed = -cash[account] / (1.0 - params[PARAM_COST_ALLOWANCE])
    investable = account_value_nb(prices, holdings, cash, account) * (
        1.0 - params[PARAM_CASH_RESERVE])
    n_assets = holdings.shape[1]
    excess = np.zeros(n_assets)
    for asset in range(n_assets):
        if holdings[account, asset] > 0.0 and math.isfinite(prices[asset]):
            value = holdings[account, asset] * prices[asset]
            excess[asset] = value - target[asset] * investable
    raised = 0.0
    smallest = params[PARAM_MIN_TRADE]
    for sweep in range(2):
        # sweep 0: the overweight part, most overweight first; sweep 1: largest positions
        order = np.argsort(-excess, kind="mergesort")
        for k in range(n_assets):
            asset = order[k]
            left = needed - raised
            if left <= 0.01:
                return n_orders
            if holdings[account, asset] <= 0.0 or not math.isfinite(prices[asset]):
                continue
            if sweep == 0:
                if excess[asset] <= smallest:
                    break
                dollars = min(left, excess[asset])
            else:
                dollars = left
            n_orders, sold = sell_asset_nb(state, params, account, day, prices, holdings,
                                           orders, n_orders, committed, today, asset,
                                           max(dollars, min(smallest, left)), 0.01, False)
            raised += sold
        for asset in range(n_assets):  # sweep 1 ranks what is left by value
            excess[asset] = (holdings[account, asset] - committed[asset]) * prices[asset] if (
                holdings[account, asset] > 0.0 and math.isfinite(prices[asset])) else 0.0
    return n_orders


raise_shortfall_nb = njit(cache=True)(raise_shortfall)


def write_buys(state, params, account, day, prices, cash, orders, n_orders, pending, sold,
               today):
    """Buy the queued dollars (scaled down to cash plus the day's proceeds), skipping a stock
    that cannot be bought without a wash sale (its cash waits)."""
    wanted = 0.0
    for asset in range(pending.shape[0]):
        wanted += pending[asset]
    available = cash[account] + sold * (1.0 - params[PARAM_COST_ALLOWANCE])
    if wanted <= 0.0 or available <= 0.0:
        return n_orders
    scale = min(1.0, available / wanted)
    for asset in range(pending.shape[0]):
        dollars = pending[asset] * scale
        if dollars < params[PARAM_MIN_TRADE] or dollars <= 0.0:
            continue
        if params[PARAM_MANAGED] > 0.0 and (
                buy_would_wash_nb(state, asset, day)
                or group_traded_today_nb(state, today, TODAY_LOSS_SALE, asset)):
            continue
        n_orders = write_order_nb(orders, n_orders, account, asset, dollars / prices[asset],
                                  params[PARAM_LOT_METHOD])
    return n_orders


write_buys_nb = njit(cache=True)(write_buys)


def direct_indexing_decide(day_index, day, prices, holdings, cash, targets, state, params,
                           orders):
    """One day of direct indexing for the managed account (see the module docstring).

    ``targets`` is ignored: the index weights are in ``params``. Scratch arrays are allocated
    once per day; the work is O(assets + lots of the held stocks) on check days.
    """
    n_accounts, n_assets = holdings.shape
    if params[PARAM_N_ASSETS] != n_assets:
        raise ValueError("direct_indexing: params were built for another market")
    account = int(params[PARAM_ACCOUNT])
    if account >= n_accounts:
        raise ValueError("direct_indexing: account is not in the household")
    managed = params[PARAM_MANAGED] > 0.0
    target = np.empty(n_assets)
    pending = np.zeros(n_assets)
    committed = np.zeros(n_assets)
    today = np.zeros((2, n_assets))
    stock_fraction = index_targets_nb(params, prices, target)
    n_sectors = int(params[PARAM_N_SECTORS])
    sector_due = np.zeros(n_sectors + 1, np.bool_)
    rebalance = False
    if params[PARAM_REBALANCE_MONTHS] > 0.0:
        period = period_index_nb(day, int(params[PARAM_REBALANCE_MONTHS]))
        if period != params[PARAM_LAST_PERIOD]:
            params[PARAM_LAST_PERIOD] = period
            rebalance = True
            sector_due[:] = True
    n_orders = 0
    if (managed and state.account_kind[account] == TAXABLE
            and day_index % int(params[PARAM_CHECK_EVERY]) == 0):
        n_orders = harvest_account_nb(state, params, account, day, prices, holdings, cash,
                                      orders, n_orders, target, pending, committed, today)
    if managed and params[PARAM_RETURN] > 0.0:
        harvest_days = harvest_day_offset_nb(n_assets)
        sector_of = sector_of_offset_nb(n_assets, n_sectors)
        for asset in range(n_assets):
            harvested = params[harvest_days + asset]
            if harvested != NO_DAY and day - harvested > WASH_WINDOW_DAYS:
                params[harvest_days + asset] = NO_DAY
                rebalance = True
                sector = int(params[sector_of + asset])
                sector_due[sector if sector >= 0 else n_sectors] = True
    # a cash need (tax, withdrawal) is raised by the strategy every day, a rebalance day too
    # (the rebalance then measures the stocks after those sales): left to the engine it is
    # sold pro rata over every stock, losses first, and the day's buys wash those losses
    n_orders = raise_shortfall_nb(state, params, account, day, prices, holdings, cash,
                                  target, orders, n_orders, committed, today)
    if rebalance:
        n_orders = rebalance_account_nb(state, params, account, day, prices, holdings, cash,
                                        orders, n_orders, target, pending, committed, today,
                                        sector_due)
    sold = sale_proceeds_nb(orders, 0, n_orders, prices)
    invest_cash_nb(state, params, account, day, prices, holdings, cash, target, stock_fraction,
                   pending, committed, today, sold * (1.0 - params[PARAM_COST_ALLOWANCE]))
    return write_buys_nb(state, params, account, day, prices, cash, orders, n_orders, pending,
                         sold, today)


direct_indexing_decide_nb = njit(cache=True)(direct_indexing_decide)


def _index_weights(market, weights, tickers):
    """(weights by market column, name of the field at fault) after validation."""
    n = market.n_assets
    column = np.zeros(n)
    if weights is None:
        names = list(market.tickers if tickers is None else tickers)
        if not names:
            raise ValueError("direct_indexing: tickers is empty")
        for ticker in names:
            if ticker not in market.tickers:
                raise ValueError(f"direct_indexing: tickers: unknown ticker {ticker!r}")
            column[market.tickers.index(ticker)] = 1.0 / len(names)
        return column
    if tickers is not None:
        raise ValueError("direct_indexing: give weights or tickers, not both")
    if not isinstance(weights, Mapping) or not weights:
        raise ValueError("direct_indexing: weights must be a non-empty {ticker: weight} mapping")
    for ticker, weight in weights.items():
        if ticker not in market.tickers:
            raise ValueError(f"direct_indexing: weights: unknown ticker {ticker!r}")
        if not (math.isfinite(weight) and weight >= 0.0):
            raise ValueError(f"direct_indexing: weights[{ticker!r}] must be >= 0, got {weight}")
        column[market.tickers.index(ticker)] = weight
    total = column.sum()
    if not 0.0 < total <= 1.0 + 1e-9:
        raise ValueError(f"direct_indexing: weights must sum to a value in (0, 1], got {total}")
    return column


def direct_indexing(
    market: Market,
    weights: Mapping[str, float] | None = None,
    *,
    tickers: Sequence[str] | None = None,
    cap_weighted: bool | None = None,
    account: int = 0,
    threshold: float = 0.05,
    threshold_dollars: float = 0.0,
    min_trade: float = 10.0,
    check_every: int = 1,
    n_replacements: int = 3,
    rebalance: str | None = "quarterly",
    return_after_window: bool = True,
    band: float = 0.10,
    max_gain: float | None = 0.0,
    lot_method: str = "tax_optimal",
    cash_reserve: float = 0.0,
    cost_allowance: float = 0.001,
) -> Strategy:
    """Direct indexing with per-lot loss harvesting into same-sector stocks.

    Run it with ``simulate(market, household, strategy, {}, contributions=...)``: the index
    weights live in the strategy (``uses_targets=False``: ``simulate`` refuses per-account
    target weights rather than ignore them).

    Parameters
    ----------
    market : Market
        The market (tickers and ``sector`` metadata; sectors group the replacements).
    weights : mapping of str to float, optional
        Index weights ``{ticker: fraction of the account}``, each >= 0, summing to (0, 1]
        (the rest is held in cash). None: equal weight over ``tickers``.
    tickers : sequence of str, optional
        Equal-weight index members (with ``weights=None``; default every market ticker).
    cap_weighted : bool, optional
        True: ``weights`` are first-day cap weights that drift with price; False: fixed
        weights. Default: True with ``weights``, False for equal weight.
    account : int
        Index of the managed account in ``household.accounts`` (taxable for harvesting).
    threshold : float
        Fraction of a lot's basis its loss must reach to harvest (0.05 = 5%).
    threshold_dollars : float
        Dollars a lot's loss must also reach.
    min_trade : float
        Dollars: smaller harvests and trades are skipped.
    check_every : int
        Trading days between harvest checks (1 = daily; checks on day indices divisible by it).
    n_replacements : int
        Same-sector stocks bought with a harvest's proceeds (0: all eligible in the sector).
    rebalance : {"monthly", "quarterly", "yearly", None}
        Calendar rebalancing back to the index weights (None: only after harvests).
    return_after_window : bool
        Rebalance on the first trading day more than 30 calendar days after a harvest.
    band : float
        Fraction of a stock's target dollars it may drift before a rebalance trades it.
    max_gain : float or None
        Rebalancing sales in the (taxable) managed account only relieve lots whose gain is at
        most this fraction of their value (0: losses only; the harvest's replacements stay
        until they can be sold without a gain); None: no cap. Cash shortfalls are not capped.
        Capped sales relieve lots ``tax_optimal``, overriding ``lot_method`` (the cap is exact
        only for that order).
    lot_method : str
        Lot method of rebalancing and cash-raising sales (harvests always relieve losses
        first, ``tax_optimal``; rebalancing sales under ``max_gain`` too; a sale cut to gain
        lots to avoid a wash sale uses FIFO).
    cash_reserve : float
        Fraction of the account's value kept in cash.
    cost_allowance : float
        Fraction of proceeds held back from the same day's purchases for trading costs.

    Returns
    -------
    Strategy
        ``invests_flows=True``; ``twin``: the same basket, FIFO, same rebalancing calendar,
        no harvesting. ``Result.params[PARAM_HARVESTS]`` counts harvests and
        ``[PARAM_HARVESTED_LOSS]`` sums their losses (dollars).

    Raises
    ------
    ValueError
        Naming the field: unknown ticker, negative or non-finite number, weights summing above
        1, bad frequency or lot method.
    """
    column = _index_weights(market, weights, tickers)
    for name, value in (("threshold", threshold), ("threshold_dollars", threshold_dollars),
                        ("min_trade", min_trade), ("band", band),
                        ("cost_allowance", cost_allowance)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0.0):
            raise ValueError(f"direct_indexing: {name} must be a finite number >= 0, got {value}")
    if not 0.0 <= cash_reserve < 1.0:
        raise ValueError(f"direct_indexing: cash_reserve must be in [0, 1), got {cash_reserve}")
    if cost_allowance >= 1.0:
        raise ValueError(f"direct_indexing: cost_allowance must be < 1, got {cost_allowance}")
    if int(check_every) != check_every or check_every < 1:
        raise ValueError(f"direct_indexing: check_every must be an integer >= 1, "
                         f"got {check_every}")
    if int(n_replacements) != n_replacements or n_replacements < 0:
        raise ValueError(f"direct_indexing: n_replacements must be an integer >= 0, "
                         f"got {n_replacements}")
    if int(account) != account or account < 0:
        raise ValueError(f"direct_indexing: account must be an index >= 0, got {account}")
    if rebalance is not None and rebalance not in PERIOD_MONTHS:
        raise ValueError(f"direct_indexing: rebalance must be one of {sorted(PERIOD_MONTHS)} "
                         f"or None, got {rebalance!r}")
    if lot_method not in LOT_METHOD_CODES or lot_method == "specific":
        raise ValueError(f"direct_indexing: lot_method {lot_method!r} is not a relief method")
    if max_gain is not None and not (math.isfinite(max_gain) and max_gain >= 0.0):
        raise ValueError(f"direct_indexing: max_gain must be >= 0 or None, got {max_gain}")
    if cap_weighted is None:
        cap_weighted = weights is not None
    n_assets = market.n_assets
    sectors = sorted({market.sector[i] for i in range(n_assets) if column[i] > 0.0})
    n_sectors = len(sectors)
    params = np.zeros(params_size(n_assets, n_sectors))
    params[PARAM_MANAGED] = 1.0
    params[PARAM_THRESHOLD] = threshold
    params[PARAM_THRESHOLD_DOLLARS] = threshold_dollars
    params[PARAM_MIN_TRADE] = min_trade
    params[PARAM_CHECK_EVERY] = check_every
    params[PARAM_REBALANCE_MONTHS] = PERIOD_MONTHS[rebalance] if rebalance else 0.0
    params[PARAM_LAST_PERIOD] = -1.0
    params[PARAM_BAND] = band
    params[PARAM_LOT_METHOD] = LOT_METHOD_CODES[lot_method]
    params[PARAM_CASH_RESERVE] = cash_reserve
    params[PARAM_COST_ALLOWANCE] = cost_allowance
    params[PARAM_N_ASSETS] = n_assets
    params[PARAM_ACCOUNT] = account
    params[PARAM_N_REPLACEMENTS] = n_replacements
    params[PARAM_CAP_WEIGHTED] = 1.0 if cap_weighted else 0.0
    params[PARAM_RETURN] = 1.0 if return_after_window else 0.0
    params[PARAM_N_SECTORS] = n_sectors
    params[PARAM_MAX_GAIN] = -1.0 if max_gain is None else max_gain
    params[weight_offset(n_assets):weight_offset(n_assets) + n_assets] = column
    params[base_price_offset(n_assets):base_price_offset(n_assets) + n_assets] = np.nan
    params[harvest_day_offset(n_assets):harvest_day_offset(n_assets) + n_assets] = NO_DAY
    sector_of = sector_of_offset(n_assets, n_sectors)
    offsets = sector_offsets_offset(n_assets)
    members = sector_members_offset(n_assets, n_sectors)
    params[sector_of:sector_of + n_assets] = -1.0
    scan_price = scan_price_offset(n_assets, n_sectors)
    params[scan_price:scan_price + n_assets] = np.nan
    position = 0
    for number, sector in enumerate(sectors):
        params[offsets + number] = position
        in_sector = [i for i in range(n_assets) if column[i] > 0.0 and market.sector[i] == sector]
        for i in sorted(in_sector, key=lambda i: (-column[i], i)):
            params[members + position] = i
            params[sector_of + i] = number
            position += 1
    params[offsets + n_sectors] = position
    twin_params = params.copy()
    twin_params[PARAM_MANAGED] = 0.0
    twin_params[PARAM_LOT_METHOD] = FIFO
    twin_params[PARAM_RETURN] = 0.0
    n_names = int((column > 0).sum())
    kind = "cap-weighted" if cap_weighted else "fixed-weight"
    max_orders = 3 * n_assets + 16
    twin = Strategy(
        f"index basket ({n_names} stocks, {kind}, {rebalance or 'no'} rebalancing)",
        direct_indexing_decide_nb, twin_params, lot_method="fifo", max_orders=max_orders,
        invests_flows=True, uses_targets=False,
        description="the index's stocks bought and held, FIFO lots",
    )
    return Strategy(
        f"direct indexing ({n_names} stocks, {kind}, {threshold:.0%} threshold)",
        direct_indexing_decide_nb, params, lot_method=lot_method, max_orders=max_orders,
        invests_flows=True, uses_targets=False, twin=twin,
        description="index stocks held directly; lots at a loss harvested into same-sector "
        "stocks, never washing a sale",
    )


def index_returns(market: Market, params: np.ndarray | Strategy) -> pd.Series:
    """Daily total return of the index basket (price + dividends), fractions.

    ``r_t = Σ_i w_i,t-1 · R_i,t`` with ``R`` the stocks' total returns
    (:meth:`Market.total_return`) and ``w`` the strategy's index weights: cap weights drifting
    with price from the first date (``∝ w_i,0 P_i,t / P_i,0``), or fixed ones; the cash share
    ``1 − Σ w`` earns nothing. The first day's return is 0.
    """
    if isinstance(params, Strategy):
        params = params.params
    n_assets = market.n_assets
    if int(params[PARAM_N_ASSETS]) != n_assets:
        raise ValueError("index_returns: params were built for another market")
    weight0 = params[weight_offset(n_assets):weight_offset(n_assets) + n_assets]
    close = market.close
    if params[PARAM_CAP_WEIGHTED] > 0.0:
        first = np.full(n_assets, np.nan)
        for i in range(n_assets):
            valid = np.nonzero(np.isfinite(close[:, i]))[0]
            if valid.size:
                first[i] = close[valid[0], i]
        raw = weight0 * close / first
    else:
        raw = np.broadcast_to(weight0, close.shape).copy()
    raw[~np.isfinite(close)] = 0.0
    raw = np.nan_to_num(raw)
    totals = raw.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(totals > 0.0, raw * weight0.sum() / totals, 0.0)
    total_return = np.nan_to_num(market.total_return())
    out = np.zeros(market.n_dates)
    out[1:] = (w[:-1] * total_return[1:]).sum(axis=1)
    return pd.Series(out, index=market.pandas_dates, name="index_return")


def tracking(result, strategy: Strategy | None = None, *, skip_days: int = 1) -> dict:
    """Daily returns of the managed account vs the index and the annualized tracking error.

    Portfolio return from the managed account's value and cash, with contributions and
    withdrawals as flows at the start of the day (``taxsim.metrics.daily_returns``; household
    totals, so meant for a household whose flows all go to the managed account; trading costs,
    fees and tax paid from the portfolio count against the return).

    Parameters
    ----------
    result : Result
        A run of a direct-indexing strategy (or its twin).
    strategy : Strategy, optional
        Whose index weights to use (default ``result.params``).
    skip_days : int
        Leading days left out (the first day's return is the cost of investing).

    Returns
    -------
    dict
        ``portfolio`` and ``index`` (daily return Series, fractions), ``difference``
        (Series), ``tracking_error`` (annualized, fraction; ``std(r - b) · sqrt(252)``) and
        ``annualized_difference`` (mean daily difference × 252, fraction).
    """
    params = result.params if strategy is None else strategy.params
    account = int(params[PARAM_ACCOUNT])
    values = result.account_values[:, account] + result.account_cash[:, account]
    daily = result.daily()
    net_in = daily["contributions_cumulative"] - daily["withdrawals_cumulative"]
    flows = np.diff(np.concatenate([[0.0], net_in.to_numpy()]))
    portfolio = pd.Series(np.asarray(daily_returns(values, flows)), index=daily.index,
                          name="portfolio_return")
    index = index_returns(result.market, params)
    portfolio, index = portfolio.iloc[skip_days:], index.iloc[skip_days:]
    difference = portfolio - index
    return {
        "portfolio": portfolio,
        "index": index,
        "difference": difference,
        "tracking_error": tracking_error(portfolio.to_numpy(), index.to_numpy()),
        "annualized_difference": float(difference.mean() * 252.0),
    }
