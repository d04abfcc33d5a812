"""Tax-loss harvesting: sell lots at a loss, hold a substitute, never trigger a wash sale.

Each target asset heads a **family**: itself plus its substitutes (a ring: A -> B -> C -> A),
given by the user as pairs or groups of tickers that track the same exposure but are *not*
substantially identical (different identity groups; IRC §1091, Pub 550 "Wash Sales"; whether
two funds on different indexes are substantially identical is the user's call, made through
``Household.identity_groups``). An account's target weight for A is held by the family: new
money goes to the family's current **holder**, and rebalancing measures the family's value.

On each check day, in each taxable account, a family member whose lots qualify (a lot loss of
at least ``threshold`` of its basis and ``threshold_dollars``) is harvested:

- in an account that reinvests distributions, the whole position is sold (a remaining lot
  would reinvest dividends inside the 30-day window: a wash sale by dividend reinvestment,
  Pub 550); elsewhere only the lots at a loss are sold (tax-optimal relief takes losses first);
- the proceeds buy the next member of the ring that is in another identity group, is priced
  and can be bought without washing; that member becomes the holder;
- a harvest is skipped, never washed, when shares of the identity group were acquired in the
  last 30 days anywhere in the household (other than the lots being sold), when another
  account holds the group and reinvests its dividends, or when the sale is below ``min_trade``.

The strategy invests contributions and cash itself (``Strategy.invests_flows``) and checks
every purchase against the group's open wash-sale windows (``buy_would_wash``). A rebalancing
sale (a calendar period, a band, a dated change of targets) that may realize a loss (a lot
within ``LOSS_MARGIN`` of its basis: the strategy does not see the run's trading costs) is
never washed either (``wash_safe_sale``):

- with no acquisition of the group in the last 30 days (any account, the position's own lots
  included), no purchase of it today and no other reinvesting account holding it, it is made
  as asked in an account that does not reinvest, and in one that reinvests when no lot is
  below its basis (it realizes no loss before its own trading costs);
- else the lots at a gain are sold when they cover it, least tax per dollar first (lot method
  ``gains_first``: every gain lot before any loss; FIFO before, which sold the oldest lots,
  the largest gains);
- else, in an account that reinvests, where a lot is below its basis, the whole position is
  sold when that cannot be washed
  (no shares are left to reinvest a dividend into, and no other position of the group was
  acquired in the last 30 days or reinvests): the loss is realized in full, like a harvest.
  The part of the family's target it did not need buys the next safe ring member, which
  becomes the holder, or, without one, waits in cash until the window has passed (31 days);
- else only the gain lots are sold (``gains_first``) and the rest waits: in an account that does not
  reinvest, until 30 days after the group's last acquisition; in a reinvesting account, until
  30 days after the last acquisition of the group in another account. It waits for as long as
  another account that reinvests holds the group (any loss sale could be washed then).

With ``swap_back``, a substitute
is swapped back into the original asset once 31 days have passed, unless that would realize a
gain above ``swap_back_max_gain`` (fraction of the position's value).

Rebalancing is by calendar (``rebalance="quarterly"``, ...) or by drift bands
(``rebalance="bands"``: on check days, an account whose family weights drift out of their
bands, ``band`` weight points or ``band_relative`` of the target, is rebalanced by family).

Parameters are packed into the float64 ``params`` array (``PARAM_*`` offsets); per-asset and
per-(account, asset) blocks follow (``ring_offset`` and friends, below).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
from numba import njit

from strategies.buy_and_hold import buy_and_hold
from strategies.calendar_rebalance import PERIOD_MONTHS, calendar_rebalance
from strategies.drift_bands import band_half_width_nb, drift_bands
from strategies.harvest_scan import (
    SCAN_MARGIN,
    forget_changed_lots_nb,
    harvest_bound_nb,
)
from strategies.rebalance import (
    DISABLED,
    account_value_nb,
    period_index_nb,
    sale_proceeds_nb,
    write_order_nb,
)
from taxsim.dates import days_from_civil_nb
from taxsim.engine import Strategy
from taxsim.ledger.enums import (
    CNT_SALE_ROWS,
    GAINS_FIRST,
    LIFO,
    LOT_METHOD_CODES,
    NO_SLOT,
    TAX_OPTIMAL,
    TAXABLE,
)
from taxsim.ledger.state import LOSS_EPSILON, six_month_loss_rule_nb
from taxsim.ledger.wash_sales import (
    WASH_WINDOW_DAYS,
    buy_would_wash_nb,
    group_held_elsewhere_nb,
    sale_would_wash_nb,
)

PARAM_THRESHOLD = 0  # fraction of a lot's basis a loss must reach
PARAM_THRESHOLD_DOLLARS = 1  # dollars a lot's loss must reach
PARAM_MIN_TRADE = 2  # dollars: smaller harvests and trades are skipped
PARAM_CHECK_EVERY = 3  # trading days between harvest checks (1 = daily)
PARAM_REBALANCE_MONTHS = 4  # months between calendar rebalances (0: never)
PARAM_LAST_PERIOD = 5  # state: last rebalance period (-1 before the first)
PARAM_SWAP_BACK = 6  # 1: swap back to the family head after the window
PARAM_SWAP_BACK_MAX_GAIN = 7  # fraction of the position's value a swap back may realize
PARAM_LOT_METHOD = 8  # lot method of rebalancing sales
PARAM_CASH_RESERVE = 9  # fraction of each account kept in cash
PARAM_COST_ALLOWANCE = 10  # fraction of proceeds kept back for trading costs
PARAM_N_ASSETS = 11
PARAM_N_ACCOUNTS = 12
PARAM_HARVESTS = 13  # state: number of harvests
PARAM_ROWS_SEEN = 14  # state: realized rows of the ledger already seen by the scan cache
PARAM_BAND_ABSOLUTE = 15  # weight points of a family's drift band (-1: none)
PARAM_BAND_RELATIVE = 16  # fraction of the family's target weight (-1: none)
PARAM_NEXT_PERIOD_DAY = 17  # state: first day (day number) of the next rebalance period
PARAM_PER_ASSET = 18  # start of the per-asset blocks
STATE_NONE = -1.0
MAX_ACCOUNTS = 63  # accounts of a household (the decide function's band bits: int64)


def ring_offset(n_assets):
    """Offset of the ring block: ``params[ring_offset + i]`` is asset i's next substitute."""
    return PARAM_PER_ASSET


def holder_offset(n_assets):
    """Offset of the (account, asset) holder block: the member holding the target's weight."""
    return PARAM_PER_ASSET + n_assets


def swap_day_offset(n_assets, n_accounts):
    """Offset of the (account, asset) block of the day a family's holder last changed."""
    return PARAM_PER_ASSET + n_assets + n_accounts * n_assets


def scan_price_offset(n_assets, n_accounts):
    """Offset of the (account, asset) block of harvest scan prices (``harvest_scan``)."""
    return PARAM_PER_ASSET + n_assets + 2 * n_accounts * n_assets


def scan_shares_offset(n_assets, n_accounts):
    """Offset of the (account, asset) block of the shares held at each scan price."""
    return PARAM_PER_ASSET + n_assets + 3 * n_accounts * n_assets


def blocked_offset(n_assets, n_accounts):
    """Offset of the (account, asset) block of the last day through which a harvest stays
    blocked by a wash-sale risk (NaN: not known to be blocked; see
    :func:`harvest_blocked_until`), followed by the block of the lowest price (dollars per
    share) at which that holds. Both are forgotten with the scan price."""
    return PARAM_PER_ASSET + n_assets + 4 * n_accounts * n_assets


def params_size(n_assets, n_accounts):
    return PARAM_PER_ASSET + n_assets + 6 * n_accounts * n_assets


ring_offset_nb = njit(cache=True)(ring_offset)
scan_price_offset_nb = njit(cache=True)(scan_price_offset)
scan_shares_offset_nb = njit(cache=True)(scan_shares_offset)
blocked_offset_nb = njit(cache=True)(blocked_offset)
holder_offset_nb = njit(cache=True)(holder_offset)
swap_day_offset_nb = njit(cache=True)(swap_day_offset)


def family_head(params, asset, n_assets):
    """The target asset whose family ``asset`` belongs to (the ring member with the lowest
    index; the factory makes each ring's first ticker its head)."""
    ring = ring_offset_nb(n_assets)
    head = asset
    member = int(params[ring + asset])
    while member >= 0 and member != asset:
        if member < head:
            head = member
        member = int(params[ring + member])
    return head


family_head_nb = njit(cache=True)(family_head)


def position_loss(state, account, asset, price, day, threshold, threshold_dollars):
    """(shares at a loss, loss dollars of those lots, net gain of the whole position, shares,
    whether any lot qualifies) for ``asset`` in ``account`` at ``price`` on ``day``.

    Gains and losses are those a sale would realize, wash sales aside: a loss on fund shares
    held six months or less counts only beyond the exempt-interest dividends they received
    (IRC §852(b)(4)(B); Pub 550 "Loss on mutual fund or REIT stock held 6 months or less":
    ``taxsim.ledger.state.six_month_loss_rule``), so a lot whose loss that rule takes does not
    qualify for a harvest. Shares at a loss are counted before the rule (the sale relieves
    them). Only lots in taxable accounts are ever marked for the rule (``lot_six_month_rule``,
    set by ``distributions.distribute``), so it has nothing to take elsewhere."""
    loss_shares = 0.0
    loss_dollars = 0.0
    net_gain = 0.0
    shares = 0.0
    qualifies = False
    slot = state.head[account, asset]
    while slot != NO_SLOT:
        value = state.lot_shares[slot] * price
        gain = value - state.lot_basis[slot]
        if gain < 0.0 and state.lot_six_month_rule[slot]:
            gain += six_month_loss_rule_nb(state, slot, day, state.lot_shares[slot], -gain,
                                           False)[0]
            if gain >= 0.0:  # all of the loss disallowed: still sold with the loss lots
                loss_shares += state.lot_shares[slot]
        net_gain += gain
        shares += state.lot_shares[slot]
        if gain < 0.0:
            loss_shares += state.lot_shares[slot]
            loss_dollars -= gain
            if -gain >= threshold * state.lot_basis[slot] and -gain >= threshold_dollars:
                qualifies = True
        slot = state.lot_next[slot]
    return loss_shares, loss_dollars, net_gain, shares, qualifies


position_loss_nb = njit(cache=True)(position_loss)


TODAY_LOSS_SALE = 0  # row of ``today``: shares of the asset sold today with a lot at a loss
TODAY_BUY = 1  # row of ``today``: shares of the asset bought today
# decide's scratch is one (4, n_assets) array ``work`` whose first two rows are ``today``: one
# allocation a day, and one argument (one reference-count pair) per helper instead of three
WORK_PENDING = 2  # row of ``work``: dollars queued to buy, per asset (this account)
WORK_COMMITTED = 3  # row of ``work``: shares already sold today, per asset (this account)
WORK_ROWS = 4


def group_traded_today(state, today, row, asset):
    """True if any asset of ``asset``'s identity group has ``today[row]`` set (orders written
    earlier today, in any account: the ledger does not know them yet). O(group size)."""
    group = state.asset_group[asset]
    for member in range(state.group_offsets[group], state.group_offsets[group + 1]):
        if today[row, state.group_assets[member]] > 0.0:
            return True
    return False


group_traded_today_nb = njit(cache=True)(group_traded_today)


def safe_substitute(state, params, asset, prices, day, n_assets):
    """The next ring member after ``asset`` that is priced, in another identity group and
    buyable without a wash sale; -1 when none is."""
    ring = ring_offset_nb(n_assets)
    candidate = int(params[ring + asset])
    while candidate >= 0 and candidate != asset:
        if (math.isfinite(prices[candidate])
                and state.asset_group[candidate] != state.asset_group[asset]
                and not buy_would_wash_nb(state, candidate, day)):
            return candidate
        candidate = int(params[ring + candidate])
    return -1


safe_substitute_nb = njit(cache=True)(safe_substitute)


def buyable_member(state, params, holder, prices, day, n_assets):
    """The holder if it can be bought today without a wash sale, else a safe substitute."""
    if math.isfinite(prices[holder]) and not buy_would_wash_nb(state, holder, day):
        return holder
    if params[ring_offset_nb(n_assets) + holder] < 0:
        return -1
    return safe_substitute_nb(state, params, holder, prices, day, n_assets)


buyable_member_nb = njit(cache=True)(buyable_member)


def family_weight(params, targets, account, target, n_assets):
    """Target weight of ``target``'s family in ``account``: a target on any member counts."""
    ring = ring_offset_nb(n_assets)
    weight = targets[account, target]
    member = int(params[ring + target])
    while member >= 0 and member != target:
        weight += targets[account, member]
        member = int(params[ring + member])
    return weight


family_weight_nb = njit(cache=True)(family_weight)


def family_value(holdings, prices, params, account, target, n_assets):
    """Market value of every member of ``target``'s family in ``account`` (dollars)."""
    ring = ring_offset_nb(n_assets)
    value = 0.0
    member = target
    while True:
        if holdings[account, member] > 0.0 and math.isfinite(prices[member]):
            value += holdings[account, member] * prices[member]
        member = int(params[ring + member])
        if member < 0 or member == target:
            break
    return value


family_value_nb = njit(cache=True)(family_value)


def family_value_today(holdings, prices, params, account, target, n_assets, work):
    """:func:`family_value` after today's orders so far: shares already sold today
    (``work[WORK_COMMITTED]``) out, buys already queued (``work[WORK_PENDING]``, dollars) in.
    A rebalance measured without them sells again what a cash need has just sold."""
    ring = ring_offset_nb(n_assets)
    value = 0.0
    member = target
    while True:
        if math.isfinite(prices[member]):
            held = holdings[account, member] - work[WORK_COMMITTED, member]
            if held > 0.0:
                value += held * prices[member]
        value += work[WORK_PENDING, member]
        member = int(params[ring + member])
        if member < 0 or member == target:
            break
    return value


family_value_today_nb = njit(cache=True)(family_value_today)


def harvest_size(state, today, account, asset, day, price, threshold, threshold_dollars,
                 min_trade):
    """A due harvest of ``asset`` in ``account``: ``(shares, selling_all, realized_gain)``,
    with zero shares when none is due or its loss could be washed.

    Due: a lot's loss reaches ``threshold`` of its basis and ``threshold_dollars``, and the
    sale realizes a net loss worth at least ``min_trade`` of proceeds. Where the account
    reinvests distributions the whole position is sold (a remaining lot would reinvest inside
    the window), else only the lots at a loss. Washable (IRC §1091(a), Pub 550): an
    acquisition of the group in the last 30 days other than the lots sold, another account
    that holds the group and reinvests, or a purchase of the group written earlier today.
    """
    loss_shares, loss_dollars, net_gain, shares, qualifies = position_loss_nb(
        state, account, asset, price, day, threshold, threshold_dollars)
    if not qualifies:
        return 0.0, False, 0.0
    selling_all = state.account_reinvest[account] or loss_shares >= shares - 1e-12
    sold_shares = shares if selling_all else loss_shares
    realized = net_gain if selling_all else -loss_dollars
    if realized >= 0.0 or sold_shares * price < min_trade:
        return 0.0, False, 0.0
    if (sale_would_wash_nb(state, account, asset, day, selling_all)
            or group_held_elsewhere_nb(state, account, asset, True)
            or group_traded_today_nb(state, today, TODAY_BUY, asset)):
        return 0.0, False, 0.0
    return sold_shares, selling_all, realized


harvest_size_nb = njit(cache=True)(harvest_size)


def harvest_blocked_until(state, account, asset, day):
    """``(last_day, lowest_price)``: through ``last_day``, at prices of at least
    ``lowest_price`` (dollars per share), a loss sale of ``asset`` in ``account`` is sure to
    be washable, as the ledger stands on ``day``; ``last_day`` is NaN when nothing is sure.

    - Another account that holds the identity group and reinvests its distributions blocks it
      for as long as it holds the group (inf; Pub 550, dividend reinvestment plans).
    - The newest lot of another position of the group, acquired on day A, blocks it through
      A + 30 (IRC §1091(a); ``sale_would_wash`` with the whole position sold).
    - In an account that does not reinvest, the position's own newest lot, acquired on day A,
      blocks it through A + 30 while some lot is not at a loss (the price is above its lowest
      basis per share): then only the loss lots are sold, and ``sale_would_wash`` (part of
      the position sold) counts the newest lot as a replacement.

    Later acquisitions only extend a block. The position's own changes (shares bought or
    sold, a split) refresh its scan price, and a sale of the group (which may remove a lot or
    add a disallowed loss to a basis) forgets it, and either forgets the block too.
    """
    if group_held_elsewhere_nb(state, account, asset, True):
        return np.inf, 0.0
    latest = -np.inf
    group = state.asset_group[asset]
    for member in range(state.group_offsets[group], state.group_offsets[group + 1]):
        member_asset = state.group_assets[member]
        for other_account in range(state.head.shape[0]):
            if other_account == account and member_asset == asset:
                continue
            slot = state.tail[other_account, member_asset]
            if slot != NO_SLOT:
                latest = max(latest, float(state.lot_acquired[slot]))
    if latest >= day - WASH_WINDOW_DAYS:
        return latest + WASH_WINDOW_DAYS, 0.0
    own_newest = state.tail[account, asset]
    if (state.account_reinvest[account] or own_newest == NO_SLOT
            or state.lot_acquired[own_newest] < day - WASH_WINDOW_DAYS):
        return np.nan, 0.0
    lowest = np.inf
    slot = state.head[account, asset]
    while slot != NO_SLOT:
        if state.lot_shares[slot] > 1e-9:  # a lot that keeps a sale from selling it all
            lowest = min(lowest, state.lot_basis[slot] / state.lot_shares[slot])
        slot = state.lot_next[slot]
    return float(state.lot_acquired[own_newest]) + WASH_WINDOW_DAYS, (1.0 + SCAN_MARGIN) * lowest


harvest_blocked_until_nb = njit(cache=True)(harvest_blocked_until)


def refresh_scan_cache(state, params, account, prices, holdings):
    """Recompute the stale scan prices of ``account`` (shares changed, or forgotten by
    ``forget_changed_lots``) and forget their harvest blocks, so that
    :func:`next_harvest_candidate` and :func:`loss_harvest_idle` can trust the cache."""
    n_accounts, n_assets = holdings.shape
    scan_price = scan_price_offset_nb(n_assets, n_accounts)
    scan_shares = scan_shares_offset_nb(n_assets, n_accounts)
    blocked = blocked_offset_nb(n_assets, n_accounts)
    for asset in range(n_assets):
        held = holdings[account, asset]
        if held <= 0.0 or not math.isfinite(prices[asset]):
            continue
        if params[ring_offset_nb(n_assets) + asset] < 0:
            continue
        entry = account * n_assets + asset
        if not (params[scan_shares + entry] == held and math.isfinite(params[scan_price + entry])):
            params[scan_price + entry] = (1.0 + SCAN_MARGIN) * harvest_bound_nb(
                state, account, asset, params[PARAM_THRESHOLD])
            params[scan_shares + entry] = held
            params[blocked + entry] = np.nan


refresh_scan_cache_nb = njit(cache=True)(refresh_scan_cache)


def next_harvest_candidate(params, account, prices, holdings, first, day):
    """The first asset from ``first`` on that ``account`` may harvest today, or -1.

    An asset is skipped when not held, not priced, without a substitute (it cannot be sold
    without leaving the exposure), in O(1) from the cached scan price when no lot is down by
    the threshold at this price (``harvest_scan``; call :func:`refresh_scan_cache` first: a
    stale entry counts as a candidate), or while its harvest is known to be blocked
    (:func:`harvest_blocked_until`; forgotten whenever the scan price is).
    """
    n_accounts, n_assets = holdings.shape
    scan_price = scan_price_offset_nb(n_assets, n_accounts)
    scan_shares = scan_shares_offset_nb(n_assets, n_accounts)
    blocked = blocked_offset_nb(n_assets, n_accounts)
    blocked_price = blocked + n_accounts * n_assets
    for asset in range(first, n_assets):
        held = holdings[account, asset]
        if held <= 0.0 or not math.isfinite(prices[asset]):
            continue
        if params[ring_offset_nb(n_assets) + asset] < 0:
            continue
        entry = account * n_assets + asset
        if not (params[scan_shares + entry] == held and math.isfinite(params[scan_price + entry])):
            return asset
        if prices[asset] <= params[scan_price + entry] and not (
                day <= params[blocked + entry] and prices[asset] >= params[blocked_price + entry]):
            return asset
    return -1


next_harvest_candidate_nb = njit(cache=True)(next_harvest_candidate)


def harvest_account(state, params, account, day, prices, holdings, orders, n_orders, work):
    """Write the harvests of one taxable account; ``work[WORK_PENDING, asset]`` collects dollars
    to buy and ``work[WORK_COMMITTED, asset]`` the shares already sold today."""
    n_accounts, n_assets = holdings.shape
    holder_block = holder_offset_nb(n_assets)
    swap_block = swap_day_offset_nb(n_assets, n_accounts)
    forget_changed_lots_nb(state, params, PARAM_ROWS_SEEN,
                           scan_price_offset_nb(n_assets, n_accounts), n_accounts)
    refresh_scan_cache_nb(state, params, account, prices, holdings)
    blocked = blocked_offset_nb(n_assets, n_accounts)
    blocked_price = blocked + n_accounts * n_assets
    asset = -1
    while True:
        asset = next_harvest_candidate_nb(params, account, prices, holdings, asset + 1, day)
        if asset < 0:
            break
        sold_shares, _, _ = harvest_size_nb(
            state, work, account, asset, day, prices[asset], params[PARAM_THRESHOLD],
            params[PARAM_THRESHOLD_DOLLARS], params[PARAM_MIN_TRADE])
        if sold_shares == 0.0:
            entry = account * n_assets + asset
            params[blocked + entry], params[blocked_price + entry] = harvest_blocked_until_nb(
                state, account, asset, day)
            continue
        substitute = safe_substitute_nb(state, params, asset, prices, day, n_assets)
        if substitute < 0 or group_traded_today_nb(state, work, TODAY_LOSS_SALE, substitute):
            continue
        work[TODAY_LOSS_SALE, asset] += sold_shares
        n_orders = write_order_nb(orders, n_orders, account, asset, -sold_shares, TAX_OPTIMAL)
        work[WORK_COMMITTED, asset] += sold_shares
        work[WORK_PENDING, substitute] += sold_shares * prices[asset] * (
            1.0 - params[PARAM_COST_ALLOWANCE])
        target = family_head_nb(params, asset, n_assets)
        params[holder_block + account * n_assets + target] = substitute
        params[swap_block + account * n_assets + target] = day
        params[PARAM_HARVESTS] += 1.0
    return n_orders


harvest_account_nb = njit(cache=True)(harvest_account)


def swap_back_account(state, params, account, day, prices, holdings, orders, n_orders, work):
    """Swap substitutes back to their family head once the wash-sale window has passed."""
    n_assets = holdings.shape[1]
    holder_block = holder_offset_nb(n_assets)
    swap_block = swap_day_offset_nb(n_assets, holdings.shape[0])
    for target in range(n_assets):
        holder = int(params[holder_block + account * n_assets + target])
        if holder == target or holder < 0:
            continue
        if day - params[swap_block + account * n_assets + target] <= WASH_WINDOW_DAYS:
            continue
        if not math.isfinite(prices[target]) or buy_would_wash_nb(state, target, day):
            continue
        if group_traded_today_nb(state, work, TODAY_LOSS_SALE, target):
            continue
        shares = holdings[account, holder] - work[WORK_COMMITTED, holder]
        if shares > 0.0:
            _, _, net_gain, _, _ = position_loss_nb(state, account, holder, prices[holder],
                                                   day, 0.0, 0.0)
            value = shares * prices[holder]
            if net_gain > params[PARAM_SWAP_BACK_MAX_GAIN] * value:
                continue
            # any lot at a loss can be washed, even when the position nets a gain
            at_loss = state.account_kind[account] == TAXABLE and has_loss_lot_nb(
                state, account, holder, prices[holder])
            if at_loss and loss_sale_risky_nb(state, work, account, holder, day, True):
                continue
            n_orders = write_order_nb(orders, n_orders, account, holder, -shares, TAX_OPTIMAL)
            work[WORK_COMMITTED, holder] += shares
            if at_loss:
                work[TODAY_LOSS_SALE, holder] += shares
            work[WORK_PENDING, target] += value * (1.0 - params[PARAM_COST_ALLOWANCE])
        params[holder_block + account * n_assets + target] = target
        params[swap_block + account * n_assets + target] = day
    return n_orders


swap_back_account_nb = njit(cache=True)(swap_back_account)


def swap_back_due(params, account, day, n_assets, n_accounts):
    """True when a family of ``account`` is held by a substitute whose wash-sale window has
    passed, so that :func:`swap_back_account` has something to consider."""
    holder_block = holder_offset_nb(n_assets)
    swap_block = swap_day_offset_nb(n_assets, n_accounts)
    for target in range(n_assets):
        holder = int(params[holder_block + account * n_assets + target])
        if holder == target or holder < 0:
            continue
        if day - params[swap_block + account * n_assets + target] > WASH_WINDOW_DAYS:
            return True
    return False


swap_back_due_nb = njit(cache=True, inline="always")(swap_back_due)


LOSS_MARGIN = 0.01  # a lot within 1% of its basis counts as a loss: costs and rounding


def has_loss_lot(state, account, asset, price):
    """True if a lot of ``asset`` in ``account`` is at a loss, or within ``LOSS_MARGIN`` of
    one, at ``price`` (a sale's costs can turn a small gain into a washable loss)."""
    slot = state.head[account, asset]
    while slot != NO_SLOT:
        if state.lot_basis[slot] >= (1.0 - LOSS_MARGIN) * price * state.lot_shares[slot]:
            return True
        slot = state.lot_next[slot]
    return False


has_loss_lot_nb = njit(cache=True)(has_loss_lot)


def known_wash_risk(state, today, account, asset, day, selling_all):
    """True if a sale realizing a loss on ``asset`` in ``account`` today could be washed by
    shares already acquired or known to keep coming: shares of the group acquired in the last
    30 days (IRC §1091(a); the sold position's own lots count unless ``selling_all``), a
    purchase written earlier today, or another account that holds the group and reinvests its
    dividends (Pub 550: dividend reinvestment plans)."""
    if sale_would_wash_nb(state, account, asset, day, selling_all):
        return True
    if group_traded_today_nb(state, today, TODAY_BUY, asset):
        return True
    return group_held_elsewhere_nb(state, account, asset, True)


known_wash_risk_nb = njit(cache=True)(known_wash_risk)


def loss_sale_risky(state, today, account, asset, day, selling_all):
    """True if a sale realizing a loss on ``asset`` in ``account`` today could be washed.

    :func:`known_wash_risk`, or a later dividend reinvestment in this account when shares
    remain (Pub 550: dividend reinvestment plans)."""
    if not selling_all and state.account_reinvest[account]:
        return True
    return known_wash_risk_nb(state, today, account, asset, day, selling_all)


loss_sale_risky_nb = njit(cache=True)(loss_sale_risky)


def gain_shares(state, account, asset, price, committed):
    """Shares of ``asset`` in ``account`` in lots at a gain beyond ``LOSS_MARGIN`` at
    ``price``, less ``committed`` shares already sold today (whatever lots those took): what a
    ``gains_first`` sale can relieve without reaching a lot at a loss."""
    shares = 0.0
    slot = state.head[account, asset]
    while slot != NO_SLOT:
        lot_shares = state.lot_shares[slot]
        if state.lot_basis[slot] < (1.0 - LOSS_MARGIN) * price * lot_shares:
            shares += lot_shares
        slot = state.lot_next[slot]
    return max(shares - committed, 0.0)


gain_shares_nb = njit(cache=True)(gain_shares)


def has_real_loss_lot(state, account, asset, price):
    """True if a lot of ``asset`` in ``account`` is below its basis at ``price`` before the
    sale's own costs (the ledger's test of a loss, ``LOSS_EPSILON`` of noise allowed)."""
    slot = state.head[account, asset]
    while slot != NO_SLOT:
        basis = state.lot_basis[slot]
        if basis - price * state.lot_shares[slot] > LOSS_EPSILON * max(1.0, basis):
            return True
        slot = state.lot_next[slot]
    return False


has_real_loss_lot_nb = njit(cache=True)(has_real_loss_lot)


#: A loss harvester's rebalancing sale that must sell a position whole to avoid a wash sale
#: does so only if the position is worth at most this multiple of the dollars the sale needs
#: (the rest of the proceeds may wait in cash for 31 days where no substitute is safe).
WHOLE_SALE_MAX_MULTIPLE = 2.0


def wash_safe_sale(state, today, account, asset, day, price, held, committed, amount, method,
                   whole_max_multiple):
    """How to sell ``amount`` dollars of ``asset`` in ``account`` (``held`` shares left after
    ``committed`` already sold today) for a rebalance, a return or a cash need without a wash
    sale (IRC §1091(a), Pub 550). Returns ``(amount, selling_all, method, at_loss)``; ``at_loss``
    marks a sale that may realize a loss (the group is then not bought today).

    1. No lot within ``LOSS_MARGIN`` of a loss (or not a taxable account), or no wash risk
       (:func:`loss_sale_risky`): the sale as asked.
    2. The only risk is a later dividend reinvested in this account and no lot is below its
       basis: the sale as asked (it realizes no loss before its own trading costs).
    3. The lots at a gain (beyond ``LOSS_MARGIN``) cover it: those, least tax first
       (``gains_first``: every gain lot before any loss).
    4. The account reinvests, a lot is below its basis, nothing was sold today, the whole
       position is worth at most ``whole_max_multiple`` times ``amount`` (0: never; the loss
       harvester's :data:`WHOLE_SALE_MAX_MULTIPLE`, so that a small trim never turns into a
       sale of the whole position whose proceeds could wait in cash for 31 days; direct
       indexing, whose proceeds go to the position's peers: any) and selling it cannot be
       washed (its own lots cannot replace it and nothing will be reinvested into
       it; :func:`known_wash_risk` with ``selling_all``): the whole position.
    5. Else the gain lots only (``gains_first``); the rest waits until the risk has passed.
    """
    selling_all = amount >= held * price - 1e-9
    if state.account_kind[account] != TAXABLE or not has_loss_lot_nb(state, account, asset,
                                                                     price):
        return amount, selling_all, method, False
    if not loss_sale_risky_nb(state, today, account, asset, day, selling_all):
        return amount, selling_all, method, True
    reinvesting = state.account_reinvest[account]
    real_loss = has_real_loss_lot_nb(state, account, asset, price)
    if (reinvesting and not real_loss
            and not known_wash_risk_nb(state, today, account, asset, day, False)):
        return amount, selling_all, method, True
    gain_amount = gain_shares_nb(state, account, asset, price, committed) * price
    if (gain_amount < amount - 1e-9 and reinvesting and real_loss
            and committed == 0.0 and held * price <= whole_max_multiple * amount
            and not known_wash_risk_nb(state, today, account, asset, day, True)):
        return held * price, True, method, True
    return min(amount, gain_amount), False, GAINS_FIRST, False


wash_safe_sale_nb = njit(cache=True)(wash_safe_sale)


def recent_shares(state, account, asset, day):
    """Shares of ``asset`` in ``account`` acquired on or after ``day - 30`` (the newest lots:
    what a LIFO sale relieves first), which could replace a loss sold today (IRC §1091(a))."""
    shares = 0.0
    slot = state.tail[account, asset]
    while slot != NO_SLOT and state.lot_acquired[slot] >= day - WASH_WINDOW_DAYS:
        shares += state.lot_shares[slot]
        slot = state.lot_prev[slot]
    return shares


recent_shares_nb = njit(cache=True)(recent_shares)


def sell_family(state, params, account, day, prices, holdings, orders, n_orders, work,
                holder, dollars, smallest, whole_if_needed):
    """Sell ``dollars`` of a family, holder first, without a wash sale
    (:func:`wash_safe_sale`): a member whose partial sale could be washed sells its lots at a
    gain, least tax first, or, with ``whole_if_needed`` in an account that reinvests, its whole
    position when that cannot be washed (its own lots then cannot replace it, and no dividend
    can be reinvested into it). Stops when less than ``smallest`` dollars are left. Returns
    (order count, dollars sold), which a whole position can make more than ``dollars``."""
    n_assets = holdings.shape[1]
    ring = ring_offset_nb(n_assets)
    to_sell = dollars
    member = holder
    while to_sell > smallest:
        held = holdings[account, member] - work[WORK_COMMITTED, member]
        if held > 1e-12 and math.isfinite(prices[member]):
            amount, selling_all, method, at_loss = wash_safe_sale_nb(
                state, work, account, member, day, prices[member], held,
                work[WORK_COMMITTED, member], min(to_sell, held * prices[member]),
                params[PARAM_LOT_METHOD], WHOLE_SALE_MAX_MULTIPLE if whole_if_needed else 0.0)
            if amount > smallest:
                shares = held if selling_all else amount / prices[member]
                n_orders = write_order_nb(orders, n_orders, account, member, -shares, method)
                work[WORK_COMMITTED, member] += shares
                if at_loss:
                    work[TODAY_LOSS_SALE, member] += shares
                to_sell -= amount
        member = int(params[ring + member])
        if member < 0 or member == holder:
            break
    return n_orders, dollars - to_sell


sell_family_nb = njit(cache=True)(sell_family)


def raise_shortfall(state, params, account, day, prices, holdings, cash, orders, n_orders,
                    work):
    """Sell enough to cover negative cash (a withdrawal or a tax payment) without a wash sale:
    families pro rata to their value, then whatever a skipped member left from the others;
    then, in an account that does not reinvest, the smallest LIFO sale that relieves every
    share acquired in the last 30 days; last, a whole position (preferring one whose family can
    buy a substitute at once with the rest of the proceeds; without one, a position worth at
    most ``WHOLE_SALE_MAX_MULTIPLE`` times what is still needed).
    Any shortfall beyond a dollar is raised, however small: what the strategy leaves after a
    withdrawal or a tax payment the engine sells pro rata, without regard to wash sales."""
    if cash[account] >= -1.0:
        return n_orders
    n_assets = holdings.shape[1]
    holder_block = holder_offset_nb(n_assets)
    needed = -cash[account] / (1.0 - params[PARAM_COST_ALLOWANCE])
    invested = account_value_nb(prices, holdings, cash, account) - cash[account]
    if invested <= 0.0:
        return n_orders
    raised = 0.0
    for sweep in range(2):  # pro rata; then the rest anywhere
        for target in range(n_assets):
            if family_head_nb(params, target, n_assets) != target or raised >= needed - 0.01:
                continue
            current = family_value_nb(holdings, prices, params, account, target, n_assets)
            if current <= 0.0:
                continue
            share = needed * current / invested if sweep == 0 else needed - raised
            holder = int(params[holder_block + account * n_assets + target])
            n_orders, sold = sell_family_nb(state, params, account, day, prices, holdings,
                                            orders, n_orders, work, holder,
                                            share, 0.01, False)
            raised += sold
    # next: a LIFO sale of at least every share of a position acquired in the last 30 days
    # leaves no replacement behind (IRC §1091(a)); safe where the rest reinvests nothing
    if raised < needed - 0.01 and not state.account_reinvest[account]:
        best, best_shares = -1, 0.0
        for asset in range(n_assets):
            held = holdings[account, asset]
            if (held <= 1e-12 or work[WORK_COMMITTED, asset] > 0.0
                    or not math.isfinite(prices[asset])):
                continue
            if loss_sale_risky_nb(state, work, account, asset, day, True):
                continue
            shares = max((needed - raised) / prices[asset],
                         recent_shares_nb(state, account, asset, day))
            if shares >= held - 1e-9:
                continue  # the whole position: below
            if best < 0 or shares * prices[asset] < best_shares * prices[best]:
                best, best_shares = asset, shares
        if best >= 0:
            n_orders = write_order_nb(orders, n_orders, account, best, -best_shares, LIFO)
            work[WORK_COMMITTED, best] += best_shares
            work[TODAY_LOSS_SALE, best] += best_shares
            raised += best_shares * prices[best]
    # last resort: a whole position whose loss cannot be washed (its own lots cannot replace
    # it), preferring one whose family can buy a substitute today with what is not needed, so
    # the exposure stays; the engine sells what is still short
    holder_block = holder_offset_nb(n_assets)
    swap_block = swap_day_offset_nb(n_assets, holdings.shape[0])
    while raised < needed - 0.01:
        best, best_substitute = -1, -1
        for replaceable in (True, False):
            for asset in range(n_assets):
                held = holdings[account, asset] - work[WORK_COMMITTED, asset]
                if held <= 1e-12 or not math.isfinite(prices[asset]):
                    continue
                if loss_sale_risky_nb(state, work, account, asset, day, True):
                    continue
                substitute = -1
                if replaceable:
                    if params[ring_offset_nb(n_assets) + asset] < 0:
                        continue
                    substitute = safe_substitute_nb(state, params, asset, prices, day, n_assets)
                    if substitute < 0 or group_traded_today_nb(state, work, TODAY_LOSS_SALE,
                                                               substitute):
                        continue
                value = held * prices[asset]
                if not replaceable and value > WHOLE_SALE_MAX_MULTIPLE * (needed - raised):
                    # no substitute takes the rest: a whole position far beyond the need
                    # would sit in cash for 31 days; the engine sells the need pro rata
                    continue
                if best < 0:
                    best, best_substitute = asset, substitute
                    continue
                best_value = (holdings[account, best] - work[WORK_COMMITTED, best]) * prices[best]
                covers, best_covers = value >= needed - raised, best_value >= needed - raised
                if (covers and (not best_covers or value < best_value)) or (
                        not covers and not best_covers and value > best_value):
                    best, best_substitute = asset, substitute
            if best >= 0:
                break
        if best < 0:
            break
        shares = holdings[account, best] - work[WORK_COMMITTED, best]  # all left: no own lot
        n_orders = write_order_nb(orders, n_orders, account, best, -shares,
                                  params[PARAM_LOT_METHOD])
        work[WORK_COMMITTED, best] += shares
        work[TODAY_LOSS_SALE, best] += shares
        proceeds = shares * prices[best]
        if best_substitute >= 0 and proceeds > needed - raised:
            # the rest of the position moves to the substitute, as in a harvest
            work[WORK_PENDING, best_substitute] += (proceeds - (needed - raised)) * (
                1.0 - params[PARAM_COST_ALLOWANCE])
            target = family_head_nb(params, best, n_assets)
            params[holder_block + account * n_assets + target] = best_substitute
            params[swap_block + account * n_assets + target] = day
        raised += proceeds
    return n_orders


raise_shortfall_nb = njit(cache=True)(raise_shortfall)


def keep_family(state, params, account, day, prices, work, target, holder, dollars):
    """Queue ``dollars`` a whole-position sale raised beyond its family's excess for the
    family: the holder, or, when the holder was sold at a loss today, the next safe ring
    member, which becomes the holder (as in a harvest; swapped back with ``swap_back``). With
    no safe member the dollars stay in cash, and the next days' spare cash buys the holder as
    soon as its wash-sale window has passed (31 days)."""
    n_assets = work.shape[1]
    member = holder
    if group_traded_today_nb(state, work, TODAY_LOSS_SALE, holder):
        if params[ring_offset_nb(n_assets) + holder] < 0:
            return
        member = safe_substitute_nb(state, params, holder, prices, day, n_assets)
        if member < 0 or group_traded_today_nb(state, work, TODAY_LOSS_SALE, member):
            return
        params[holder_offset_nb(n_assets) + account * n_assets + target] = member
        params[swap_day_offset_nb(n_assets, state.head.shape[0])
               + account * n_assets + target] = day
    work[WORK_PENDING, member] += dollars


keep_family_nb = njit(cache=True)(keep_family)


def rebalance_families(state, params, account, day, prices, holdings, cash, targets, orders,
                       n_orders, work, rebalance):
    """Sell overweight families without a wash sale (:func:`sell_family`, whole positions
    allowed: see the module) and queue buys.

    With ``rebalance`` False only spare cash is queued, for the families below their targets
    in proportion to their shortfalls: the cash of a family that cannot be bought today (all
    its members inside a wash window) waits for that family instead of flowing to the others.
    """
    n_assets = holdings.shape[1]
    holder_block = holder_offset_nb(n_assets)
    value = account_value_nb(prices, holdings, cash, account)
    investable = value * (1.0 - params[PARAM_CASH_RESERVE])
    if investable <= 0.0:
        return n_orders
    target_sum = 0.0
    for target in range(n_assets):
        target_sum += targets[account, target]
    spare = cash[account] - value * (1.0 - target_sum + params[PARAM_CASH_RESERVE])
    if not rebalance and (spare <= params[PARAM_MIN_TRADE] or target_sum <= 0.0):
        return n_orders
    shortfall_sum = 0.0
    if not rebalance:
        for target in range(n_assets):
            if family_head_nb(params, target, n_assets) == target:
                shortfall_sum += max(0.0, family_weight_nb(params, targets, account, target,
                                                           n_assets) * investable
                                     - family_value_today_nb(holdings, prices, params, account,
                                                             target, n_assets, work))
    for target in range(n_assets):
        if family_head_nb(params, target, n_assets) != target:
            continue  # a family is handled once, at its head
        weight = family_weight_nb(params, targets, account, target, n_assets)
        holder = int(params[holder_block + account * n_assets + target])
        current = family_value_today_nb(holdings, prices, params, account, target, n_assets,
                                        work)
        delta = weight * investable - current
        if not rebalance:
            if weight > 0.0 and delta > 0.0:
                work[WORK_PENDING, holder] += delta * min(1.0, spare / shortfall_sum)
            continue
        if delta > params[PARAM_MIN_TRADE]:
            work[WORK_PENDING, holder] += delta
        elif delta < -params[PARAM_MIN_TRADE]:
            n_orders, sold = sell_family_nb(state, params, account, day, prices, holdings,
                                            orders, n_orders, work, holder, -delta,
                                            params[PARAM_MIN_TRADE], True)
            kept = sold + delta  # a whole position sold beyond the family's excess
            if kept > params[PARAM_MIN_TRADE]:
                keep_family_nb(state, params, account, day, prices, work, target, holder,
                               kept)
    return n_orders


rebalance_families_nb = njit(cache=True)(rebalance_families)


def write_buys(state, params, account, day, prices, cash, orders, n_orders, work,
               sold):
    """Buy the queued dollars, each in a member that can be bought without a wash sale, never
    spending more than the account's cash plus the day's sale proceeds, costs included (the
    cost allowance is kept back, so that buying never leaves a shortfall to raise)."""
    n_assets = work.shape[1]
    wanted = 0.0
    for asset in range(n_assets):
        wanted += work[WORK_PENDING, asset]
    available = cash[account] + sold * (1.0 - params[PARAM_COST_ALLOWANCE])
    if wanted <= 0.0 or available <= 0.0:
        return n_orders
    scale = min(1.0, available / (wanted * (1.0 + params[PARAM_COST_ALLOWANCE])))
    for asset in range(n_assets):
        dollars = work[WORK_PENDING, asset] * scale
        if dollars < params[PARAM_MIN_TRADE]:
            continue
        member = buyable_member_nb(state, params, asset, prices, day, n_assets)
        if member < 0 or group_traded_today_nb(state, work, TODAY_LOSS_SALE, member):
            continue  # the whole family is inside a window: the cash waits
        n_orders = write_order_nb(orders, n_orders, account, member, dollars / prices[member],
                                  TAX_OPTIMAL)
        work[TODAY_BUY, member] += dollars / prices[member]
    return n_orders


write_buys_nb = njit(cache=True)(write_buys)


def loss_harvest_idle(day_index, day, prices, holdings, cash, targets, state, params, orders):
    """True when :func:`loss_harvest_decide` has nothing to do today (``Strategy.idle``): no
    calendar rebalance due, no account out of its bands, no cash to invest or shortfall to
    raise, no swap back due, and no harvest candidate (a held asset with a substitute whose
    cached scan price is at or above the price and whose harvest is not known to be blocked).
    A scan cache that is stale (shares changed, or sales of the group not yet seen) is not
    trusted: the answer is then False and ``decide`` refreshes it.

    Written without calls or allocations, so that numba prunes the reference counts of its
    arguments: it runs every day, and calling ``decide`` costs an atomic reference-count pair
    per array argument (about 0.1 µs a day). Changes nothing.
    """
    n_accounts, n_assets = holdings.shape
    idle = True
    every = int(params[PARAM_CHECK_EVERY])
    check = every <= 1 or day_index % every == 0  # no integer division on daily checks
    if params[PARAM_N_ASSETS] != n_assets or params[PARAM_N_ACCOUNTS] != n_accounts:
        idle = False  # decide raises
    elif params[PARAM_REBALANCE_MONTHS] > 0.0 and day >= params[PARAM_NEXT_PERIOD_DAY]:
        idle = False  # a new calendar period may start
    elif check and state.counters[CNT_SALE_ROWS] != params[PARAM_ROWS_SEEN]:
        idle = False  # sales not yet seen by the scan cache
    band_absolute = params[PARAM_BAND_ABSOLUTE]
    band_relative = params[PARAM_BAND_RELATIVE]
    bands = check and (band_absolute >= 0.0 or band_relative >= 0.0)
    ring = ring_offset_nb(n_assets)
    holder_block = holder_offset_nb(n_assets)
    swap_block = swap_day_offset_nb(n_assets, n_accounts)
    scan_price = scan_price_offset_nb(n_assets, n_accounts)
    scan_shares = scan_shares_offset_nb(n_assets, n_accounts)
    blocked = blocked_offset_nb(n_assets, n_accounts)
    blocked_price = blocked + n_accounts * n_assets
    for account in range(n_accounts):
        if not idle:
            break
        if cash[account] < -1.0 or cash[account] > params[PARAM_MIN_TRADE]:
            idle = False
            break
        # the band test of family_out_of_band, written out (no calls here)
        investable = cash[account]
        if bands:
            for asset in range(n_assets):
                if holdings[account, asset] != 0.0 and math.isfinite(prices[asset]):
                    investable += holdings[account, asset] * prices[asset]
            investable *= 1.0 - params[PARAM_CASH_RESERVE]
        reciprocal = 1.0 / investable if investable > 0.0 else 0.0
        for target in range(n_assets):
            if not bands or investable <= 0.0:
                break
            weight = targets[account, target]
            value = 0.0
            if holdings[account, target] > 0.0 and math.isfinite(prices[target]):
                value = holdings[account, target] * prices[target]
            head = True
            member = int(params[ring + target])
            while member >= 0 and member != target:
                if member < target:
                    head = False
                    break
                weight += targets[account, member]
                if holdings[account, member] > 0.0 and math.isfinite(prices[member]):
                    value += holdings[account, member] * prices[member]
                member = int(params[ring + member])
            half_width = band_half_width_nb(band_absolute, band_relative, DISABLED, weight)
            # a product instead of a division, off by a few 1e-16 at most: decided at once
            # unless within 1e-12 of the band's edge, where decide's own quotient decides
            deviation = abs(value * reciprocal - weight)
            if head and (deviation > half_width + 1e-12 or (
                    deviation >= half_width - 1e-12
                    and abs(value / investable - weight) > half_width)):
                idle = False
                break
        for target in range(n_assets):  # swap_back_due
            if not idle or params[PARAM_SWAP_BACK] <= 0.0:
                break
            holder = int(params[holder_block + account * n_assets + target])
            if holder != target and holder >= 0 and (
                    day - params[swap_block + account * n_assets + target] > WASH_WINDOW_DAYS):
                idle = False
        for asset in range(n_assets):  # next_harvest_candidate
            if not idle or not check or state.account_kind[account] != TAXABLE:
                break
            held = holdings[account, asset]
            if held <= 0.0 or not math.isfinite(prices[asset]) or params[ring + asset] < 0:
                continue
            entry = account * n_assets + asset
            if not (params[scan_shares + entry] == held
                    and math.isfinite(params[scan_price + entry])):
                idle = False  # stale: decide refreshes it
            elif prices[asset] <= params[scan_price + entry] and not (
                    day <= params[blocked + entry]
                    and prices[asset] >= params[blocked_price + entry]):
                idle = False
    # Every argument is used once more here, on every path: numba then releases each at one
    # point and prunes its reference-count pair. Released where each path last used it (after
    # a break, a short-circuit or an elif), it keeps the pairs.
    in_use = (prices.size + holdings.size + cash.size + targets.size + params.size
              + state.counters.size)
    return idle and in_use > 0


# error_model="numpy": no exception paths for divisions (every divisor is checked), which
# would keep numba from pruning the reference counts of the arguments
loss_harvest_idle_nb = njit(cache=True, error_model="numpy")(loss_harvest_idle)


def family_out_of_band(params, targets, prices, holdings, cash, account):
    """True when a family of ``account`` has drifted out of its band (rebalance="bands").

    A family's weight is the market value of its members over the account's investable value,
    ``(cash + holdings) × (1 − cash_reserve)``, against the family's target weight; its band
    is ``target ± half_width``, ``half_width`` the smaller of the enabled thresholds: absolute
    weight points and ``relative × target`` (the rule of ``strategies.drift_bands``, per
    family instead of per asset, so that a substitute counts as its family). The same test is
    written out in :func:`loss_harvest_idle`, which may not call functions.
    """
    n_assets = holdings.shape[1]
    investable = cash[account]
    for asset in range(n_assets):
        if holdings[account, asset] != 0.0 and math.isfinite(prices[asset]):
            investable += holdings[account, asset] * prices[asset]
    investable *= 1.0 - params[PARAM_CASH_RESERVE]
    if investable <= 0.0:
        return False
    for target in range(n_assets):
        if family_head_nb(params, target, n_assets) != target:
            continue
        weight = family_weight_nb(params, targets, account, target, n_assets)
        value = family_value_nb(holdings, prices, params, account, target, n_assets)
        if abs(value / investable - weight) > band_half_width_nb(
                params[PARAM_BAND_ABSOLUTE], params[PARAM_BAND_RELATIVE], DISABLED, weight):
            return True
    return False


family_out_of_band_nb = njit(cache=True)(family_out_of_band)


def loss_harvest_decide(day_index, day, prices, holdings, cash, targets, state, params, orders):
    """Harvest, swap back, rebalance or invest cash, for every account (see the module)."""
    n_accounts, n_assets = holdings.shape
    if params[PARAM_N_ASSETS] != n_assets or params[PARAM_N_ACCOUNTS] != n_accounts:
        raise ValueError("loss_harvest: params were built for another market or household")
    check = day_index % int(params[PARAM_CHECK_EVERY]) == 0
    if check:  # bring the harvest scan cache up to date, so that the idle test can trust it
        scan_price = scan_price_offset_nb(n_assets, n_accounts)
        forget_changed_lots_nb(state, params, PARAM_ROWS_SEEN, scan_price, n_accounts)
        for account in range(n_accounts):
            if state.account_kind[account] == TAXABLE:
                refresh_scan_cache_nb(state, params, account, prices, holdings)
    if loss_harvest_idle_nb(day_index, day, prices, holdings, cash, targets, state, params,
                            orders):
        return 0
    rebalance = False
    if params[PARAM_REBALANCE_MONTHS] > 0.0 and day >= params[PARAM_NEXT_PERIOD_DAY]:
        months = int(params[PARAM_REBALANCE_MONTHS])
        period = period_index_nb(day, months)
        if period != params[PARAM_LAST_PERIOD]:
            params[PARAM_LAST_PERIOD] = period
            rebalance = True
        next_start = (period + 1) * months  # months since year 0
        params[PARAM_NEXT_PERIOD_DAY] = days_from_civil_nb(next_start // 12,
                                                           next_start % 12 + 1, 1)
    bands = check and (params[PARAM_BAND_ABSOLUTE] >= 0.0 or params[PARAM_BAND_RELATIVE] >= 0.0)
    work = np.zeros((WORK_ROWS, n_assets))  # today's sales and buys, queued dollars, sold
    n_orders = 0
    for account in range(n_accounts):
        for asset in range(n_assets):
            work[WORK_PENDING, asset] = 0.0
            work[WORK_COMMITTED, asset] = 0.0
        first = n_orders
        if check and state.account_kind[account] == TAXABLE and next_harvest_candidate_nb(
                params, account, prices, holdings, 0, day) >= 0:  # refreshed above: O(1)
            n_orders = harvest_account_nb(state, params, account, day, prices, holdings, orders,
                                          n_orders, work)
        if params[PARAM_SWAP_BACK] > 0.0 and swap_back_due_nb(params, account, day, n_assets,
                                                              n_accounts):
            n_orders = swap_back_account_nb(state, params, account, day, prices, holdings,
                                            orders, n_orders, work)
        if cash[account] < -1.0:
            n_orders = raise_shortfall_nb(state, params, account, day, prices, holdings, cash,
                                          orders, n_orders, work)
        rebalance_account = rebalance or (bands and family_out_of_band_nb(
            params, targets, prices, holdings, cash, account))
        if rebalance_account or cash[account] > params[PARAM_MIN_TRADE]:  # spare <= cash
            n_orders = rebalance_families_nb(state, params, account, day, prices, holdings,
                                             cash, targets, orders, n_orders, work,
                                             rebalance_account)
        wanted = 0.0
        for asset in range(n_assets):
            wanted += work[WORK_PENDING, asset]
        if wanted > 0.0:
            n_orders = write_buys_nb(state, params, account, day, prices, cash, orders,
                                     n_orders, work,
                                     sale_proceeds_nb(orders, first, n_orders, prices))
    return n_orders


loss_harvest_decide_nb = njit(cache=True)(loss_harvest_decide)


def loss_harvest(
    tickers: Sequence[str],
    substitutes: Sequence[Sequence[str]],
    n_accounts: int,
    threshold: float = 0.05,
    threshold_dollars: float = 0.0,
    min_trade: float = 100.0,
    check_every: int = 1,
    rebalance: str | None = "quarterly",
    swap_back: bool = False,
    swap_back_max_gain: float = 0.0,
    lot_method: str = "tax_optimal",
    cash_reserve: float = 0.0,
    cost_allowance: float = 0.001,
    band: float | None = 0.05,
    band_relative: float | None = None,
) -> Strategy:
    """Tax-loss harvesting between substitutes, with calendar or drift-band rebalancing by
    family.

    Parameters
    ----------
    tickers : sequence of str
        The market's tickers, in order (``market.tickers``).
    substitutes : sequence of sequences of str
        Rings of interchangeable tickers, e.g. ``[("SPY", "IVV", "VTI")]``: a harvest of one
        moves to the next. The first ticker of a ring heads its family (holds the targets).
    n_accounts : int
        Number of accounts of the household (``len(household.accounts)``).
    threshold : float
        Fraction of a lot's basis its loss must reach to trigger a harvest (0.05 = 5%).
    threshold_dollars : float
        Dollars a lot's loss must also reach.
    min_trade : float
        Dollars: smaller harvests and trades are skipped.
    check_every : int
        Trading days between harvest checks (1 = daily).
    rebalance : {"monthly", "quarterly", "yearly", "bands", "none", None}
        Calendar rebalancing of the families back to the targets, or "bands": rebalance an
        account back to its targets on a check day when a family's weight is out of its band
        (None or "none": cash flows only).
    band : float or None
        With ``rebalance="bands"``: a family's band half-width in weight points of the
        account's investable value (0.05 = ±5 points); None disables it.
    band_relative : float or None
        With ``rebalance="bands"``: half-width as a fraction of the family's target weight
        (0.25 = ±25% of the target); None disables it. The smaller enabled width applies.
    swap_back : bool
        Swap a substitute back into its family head once 31 days have passed.
    swap_back_max_gain : float
        Largest net gain, as a fraction of the substitute position's value, a swap back may
        realize (0: only swaps that realize no gain).
    lot_method : str
        Lot method of rebalancing sales (harvests always relieve losses first).
    cash_reserve : float
        Fraction of each account kept in cash.
    cost_allowance : float
        Fraction of proceeds held back from the same day's purchases to cover trading costs.
    """
    tickers = list(tickers)
    if not tickers:
        raise ValueError("loss_harvest: tickers is empty")
    if n_accounts < 1:
        raise ValueError(f"loss_harvest: n_accounts must be >= 1, got {n_accounts}")
    if n_accounts > MAX_ACCOUNTS:
        raise ValueError(f"loss_harvest: at most {MAX_ACCOUNTS} accounts (a bit each in the "
                         f"daily band test), got n_accounts={n_accounts}")
    for name, value in (("threshold", threshold), ("threshold_dollars", threshold_dollars),
                        ("min_trade", min_trade), ("swap_back_max_gain", swap_back_max_gain),
                        ("cost_allowance", cost_allowance)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
                math.isfinite(value) and value >= 0.0):
            shown = repr(value) if isinstance(value, str) else value
            raise ValueError(f"loss_harvest: {name} must be a finite number >= 0, got {shown}")
    if not 0.0 <= cash_reserve < 1.0:
        raise ValueError(f"loss_harvest: cash_reserve must be in [0, 1), got {cash_reserve}")
    if int(check_every) != check_every or check_every < 1:
        raise ValueError(f"loss_harvest: check_every must be an integer >= 1, got {check_every}")
    if rebalance == "none":  # TOML has no null
        rebalance = None
    if rebalance is not None and rebalance not in PERIOD_MONTHS and rebalance != "bands":
        raise ValueError(
            f"loss_harvest: rebalance must be one of {sorted(PERIOD_MONTHS)}, 'bands', "
            f"'none' or None, got {rebalance!r}"
        )
    for name, value in (("band", band), ("band_relative", band_relative)):
        if value is not None and not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f"loss_harvest: {name} must be a number >= 0 or None, got {value}")
    if rebalance == "bands" and band is None and band_relative is None:
        raise ValueError("loss_harvest: rebalance='bands' needs band or band_relative")
    if lot_method not in LOT_METHOD_CODES or lot_method == "specific":
        raise ValueError(f"loss_harvest: lot_method {lot_method!r} is not a relief method")
    n_assets = len(tickers)
    params = np.full(params_size(n_assets, n_accounts), STATE_NONE)
    params[PARAM_ROWS_SEEN] = 0.0
    params[PARAM_NEXT_PERIOD_DAY] = -np.inf  # the first day starts a period
    params[scan_price_offset(n_assets, n_accounts):] = np.nan  # prices, then shares: unknown
    params[PARAM_THRESHOLD] = threshold
    params[PARAM_THRESHOLD_DOLLARS] = threshold_dollars
    params[PARAM_MIN_TRADE] = min_trade
    params[PARAM_CHECK_EVERY] = check_every
    calendar = rebalance in PERIOD_MONTHS
    params[PARAM_REBALANCE_MONTHS] = PERIOD_MONTHS[rebalance] if calendar else 0.0
    bands = rebalance == "bands"
    params[PARAM_BAND_ABSOLUTE] = band if bands and band is not None else -1.0
    params[PARAM_BAND_RELATIVE] = (band_relative if bands and band_relative is not None
                                   else -1.0)
    params[PARAM_SWAP_BACK] = 1.0 if swap_back else 0.0
    params[PARAM_SWAP_BACK_MAX_GAIN] = swap_back_max_gain
    params[PARAM_LOT_METHOD] = LOT_METHOD_CODES[lot_method]
    params[PARAM_CASH_RESERVE] = cash_reserve
    params[PARAM_COST_ALLOWANCE] = cost_allowance
    params[PARAM_N_ASSETS] = n_assets
    params[PARAM_N_ACCOUNTS] = n_accounts
    params[PARAM_HARVESTS] = 0.0
    seen: set[str] = set()
    for ring in substitutes:
        ring = list(ring)
        if len(ring) < 2:
            raise ValueError(f"loss_harvest: substitutes {ring} needs at least two tickers")
        for ticker in ring:
            if ticker not in tickers:
                raise ValueError(f"loss_harvest: substitute {ticker!r} is not in the market")
            if ticker in seen:
                raise ValueError(f"loss_harvest: {ticker!r} is in more than one substitute ring")
            seen.add(ticker)
        ring_indices = [tickers.index(t) for t in ring]
        if tickers.index(ring[0]) != min(ring_indices):
            raise ValueError(
                f"loss_harvest: the family head {ring[0]!r} must come first in the market's "
                "ticker order among its ring (reorder the ring or the market)"
            )
        for position, index in enumerate(ring_indices):
            params[ring_offset(n_assets) + index] = ring_indices[(position + 1) % len(ring)]
    holder_block = holder_offset(n_assets)
    for account in range(n_accounts):
        for asset in range(n_assets):
            params[holder_block + account * n_assets + asset] = asset
    if calendar:
        twin = calendar_rebalance(rebalance, "fifo", cash_reserve, min_trade)
        rebalancing = f"{rebalance} rebalancing"
    elif bands:
        twin = drift_bands(band, band_relative, lot_method="fifo", min_trade=min_trade,
                           cash_reserve=cash_reserve)
        widths = [f"±{band:.0%}" if band is not None else "",
                  f"±{band_relative:.0%} of target" if band_relative is not None else ""]
        rebalancing = f"drift bands {' or '.join(w for w in widths if w)}"
    else:
        twin = buy_and_hold()
        rebalancing = "no rebalancing"
    return Strategy(
        f"loss harvesting ({threshold:.0%} threshold, {rebalancing})",
        loss_harvest_decide_nb, params, lot_method=lot_method,
        max_orders=4 * n_accounts * n_assets + 16, invests_flows=True, twin=twin,
        idle=loss_harvest_idle_nb,
        description="harvest lots at a loss into substitutes, never washing a sale",
    )
