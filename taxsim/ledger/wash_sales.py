"""Wash sales: IRC §1091, Treas. Reg. §1.1091-1, IRS Pub 550 "Wash Sales", Rev. Rul. 2008-5.

A loss on a sale in a taxable account is disallowed to the extent that substantially identical
shares (same identity group) are acquired in any household account within 30 calendar days
before or after the sale. Matching rules and the piece-splitting convention are in
``taxsim/ledger/README.md``.
"""

from __future__ import annotations

from numba import njit

from taxsim.dates import long_term_from_nb, year_of_nb
from taxsim.ledger.basis_order import order_update_nb
from taxsim.ledger.enums import (
    NO_SLOT,
    RATE_CHANGE_DAY,
    TAXABLE,
    YEAR_COLLECTIBLES_GAIN,
    YEAR_LT_GAIN,
    YEAR_LT_GAIN_AFTER_RATE_CHANGE,
    YEAR_ST_GAIN,
    YEAR_ST_GAIN_AFTER_RATE_CHANGE,
    YEAR_WASH_DISALLOWED,
    YEAR_WASH_LOST,
)
from taxsim.ledger.state import (
    AUDIT_WASH_LOST,
    AUDIT_WASH_TO_BASIS,
    SHARE_EPSILON,
    append_pending_nb,
    split_lot_nb,
    year_index_nb,
)

WASH_WINDOW_DAYS = 30  # calendar days before and after the sale (IRC §1091(a))


def apply_replacement(state, piece, matched_shares, loss_per_share, sold_holding_start, sale_day):
    """Make lot ``piece`` the replacement for ``matched_shares`` sold at a loss.

    Taxable replacement: the disallowed loss is added to its basis, and its holding period
    includes the sold shares' (IRC §1091(d), §1223(3); Pub 550: "add the disallowed loss to the
    cost of the new stock ... your holding period for the new stock includes the holding period
    of the stock sold"). IRA or Roth replacement (Rev. Rul. 2008-5): the loss is disallowed and
    the IRA's basis is not increased; it is lost for good. Returns the disallowed dollars that
    were lost (0 for a taxable replacement).
    """
    disallowed = matched_shares * loss_per_share
    state.lot_replacement[piece] = True
    taxable = state.account_kind[state.lot_account[piece]] == TAXABLE
    # both cases on one path, the IRA one adding zero: call-free and branch-free around the
    # arrays, numba prunes this kernel's reference counts
    to_basis = disallowed if taxable else 0.0
    old_bps = state.lot_basis[piece] / state.lot_shares[piece]
    old_long_from = state.lot_long_from[piece]
    state.lot_basis[piece] += to_basis
    state.lot_wash_adjustment[piece] += to_basis
    holding_start = state.lot_acquired[piece] - (sale_day - sold_holding_start)
    long_from = long_term_from_nb(holding_start)
    state.lot_holding_start[piece] = holding_start if taxable else state.lot_holding_start[piece]
    state.lot_long_from[piece] = long_from if taxable else state.lot_long_from[piece]
    state.audit[AUDIT_WASH_TO_BASIS] += to_basis
    state.audit[AUDIT_WASH_LOST] += disallowed - to_basis
    order_update_nb(state, piece, old_bps, old_long_from)  # an IRA piece stays where it is
    return disallowed - to_basis


apply_replacement_nb = njit(cache=True, error_model="numpy")(apply_replacement)


def book_disallowed(state, row, disallowed, lost, year):
    """Record a disallowed loss on realized row ``row`` and in its year's totals (``year``:
    the sale year's row of ``year_income``, ``year_index(year_of(sold))``).

    §1091 disallows the loss before §852(b)(4)(A) gives it a character: a row whose loss was
    partly long-term for capital gain distributions (``lots.relieve``) gets the same fraction
    of the disallowed amount back on the long-term side, so the allowed loss keeps it.
    """
    # branch-free, each field read through the state: a record view or an array used in a
    # branch costs numba reference counts (see state.py), and this runs once per match
    realized = state.realized
    realized[row]["wash_disallowed"] += disallowed
    realized[row]["wash_lost"] += lost
    per_share = realized[row]["capital_gain_per_share"]
    loss = (realized[row]["basis"] - realized[row]["proceeds"]
            - realized[row]["exempt_interest_disallowed"])  # > 0: a loss row, after §852(b)(4)(B)
    fraction = min(1.0, per_share * realized[row]["shares"] / loss) if per_share > 0.0 else 0.0
    long_term_part = disallowed if realized[row]["long_term"] else disallowed * fraction
    state.year_income[year, YEAR_LT_GAIN] += long_term_part
    state.year_income[year, YEAR_ST_GAIN] += disallowed - long_term_part
    # a long-term collectibles loss (IRC §1(h)(5)) shrinks by the same amount
    collectible = state.asset_collectible[realized[row]["asset"]]
    collectibles_part = disallowed if realized[row]["long_term"] and collectible else 0.0
    state.year_income[year, YEAR_COLLECTIBLES_GAIN] += collectibles_part
    # the sale's own day puts it before or after a rate change within its year (0 or 1)
    after_change = 1.0 if realized[row]["sold"] >= state.rates[year, RATE_CHANGE_DAY] else 0.0
    state.year_income[year, YEAR_LT_GAIN_AFTER_RATE_CHANGE] += after_change * (
        long_term_part - collectibles_part)
    state.year_income[year, YEAR_ST_GAIN_AFTER_RATE_CHANGE] += after_change * (
        disallowed - long_term_part)
    state.year_income[year, YEAR_WASH_DISALLOWED] += disallowed
    state.year_income[year, YEAR_WASH_LOST] += lost


book_disallowed_nb = njit(cache=True, error_model="numpy")(book_disallowed)


def wash_window_starts(state, asset, sale_day):
    """First open slot of each list that may hold replacements for ``asset`` sold on
    ``sale_day``; returns how many lists.

    The lists are the (account, asset) lists of every asset in ``asset``'s identity group, in
    any account; ``scratch_window_first[member * accounts + account]`` gets the first lot
    acquired on or after ``sale_day - 30`` (nothing later exists yet), or NO_SLOT. Each list is in
    acquisition order, so the window is its tail. Matching a sale's rows only adds lots inside
    windows (split pieces), after these, so the starts hold for all the rows of one sale.
    """
    window_first = state.scratch_window_first
    lot_acquired = state.lot_acquired
    lot_prev = state.lot_prev
    tail = state.tail
    group = state.asset_group[asset]
    start = state.group_offsets[group]
    n_members = state.group_offsets[group + 1] - start
    n_accounts = tail.shape[0]
    for member in range(n_members):
        member_asset = state.group_assets[start + member]
        for account in range(n_accounts):
            first_in_window = NO_SLOT
            slot = tail[account, member_asset]
            while slot != NO_SLOT and lot_acquired[slot] >= sale_day - WASH_WINDOW_DAYS:
                first_in_window = slot
                slot = lot_prev[slot]
            window_first[member * n_accounts + account] = first_in_window
    return n_members * n_accounts


wash_window_starts_nb = njit(cache=True, error_model="numpy")(wash_window_starts)


def next_replacement(state, n_lists, sold_origin):
    """The next slot, in acquisition order (day, then lot id) across the lists at
    ``scratch_cursors``, that can replace shares of purchase ``sold_origin``; NO_SLOT when
    none is left.

    Each list is already in acquisition order, so the lists are merged, not sorted. A slot
    qualifies unless it is already a replacement or comes from the sold shares' own purchase.
    Advances the cursors past the slots it looked at, and a list's window start
    (``scratch_window_first``) past a replacement at its start: a lot stays a replacement, so
    the sale's later loss rows need not look at it again.
    """
    cursors = state.scratch_cursors
    window_first = state.scratch_window_first
    lot_acquired = state.lot_acquired
    lot_id = state.lot_id
    lot_next = state.lot_next
    lot_replacement = state.lot_replacement
    lot_origin = state.lot_origin
    while True:
        best = -1
        for k in range(n_lists):
            slot = cursors[k]
            if slot == NO_SLOT:
                continue
            if best < 0:
                best = k
                continue
            other = cursors[best]
            if lot_acquired[slot] < lot_acquired[other] or (
                lot_acquired[slot] == lot_acquired[other] and lot_id[slot] < lot_id[other]
            ):
                best = k
        if best < 0:
            return NO_SLOT
        slot = cursors[best]
        following = lot_next[slot]
        cursors[best] = following
        replacement = lot_replacement[slot]
        window_first[best] = following if replacement and window_first[best] == slot else (
            window_first[best]
        )
        if not replacement and lot_origin[slot] != sold_origin:
            return slot


next_replacement_nb = njit(cache=True, error_model="numpy")(next_replacement)


def match_sale_portion(state, row, n_lists):
    """Match a loss portion of a sale (realized row ``row``) with existing replacements.

    Replacements are open lots in any account, of any asset in the same identity group,
    acquired on or after the sale day - 30 (the ``n_lists`` list starts that
    :func:`wash_window_starts` left in ``scratch_window_first``), not already a replacement,
    and not from the sold shares' own purchase. Replacement shares are taken in acquisition
    order, one per sold share (Treas. Reg. §1.1091-1(b)-(c)); loss shares left unmatched stay
    open for acquisitions in the 30 days after the sale (:func:`match_acquisition`), in the
    group's list of open windows.
    """
    # the record's fields are read and written through the state at each use (no record view
    # outliving its basic block: numba's reference counting, see state.py)
    sold_shares = state.realized[row]["shares"]
    # the loss IRC §852(b)(4)(B) left: exempt-interest dividends disallow their part for good
    loss = (state.realized[row]["basis"] - state.realized[row]["proceeds"]
            - state.realized[row]["exempt_interest_disallowed"])
    loss_per_share = loss / sold_shares
    state.realized[row]["loss_per_open_share"] = loss_per_share
    sale_day = state.realized[row]["sold"]
    sold_origin = state.realized[row]["origin"]
    year = year_index_nb(year_of_nb(sale_day))
    for k in range(n_lists):
        state.scratch_cursors[k] = state.scratch_window_first[k]
    remaining = sold_shares
    while remaining > SHARE_EPSILON:
        # a match changes only lots already passed (a split piece is itself a replacement)
        slot = next_replacement_nb(state, n_lists, sold_origin)
        if slot == NO_SLOT:
            break
        matched = min(remaining, state.lot_shares[slot])
        if matched >= state.lot_shares[slot] - SHARE_EPSILON:
            matched = state.lot_shares[slot]
            piece = slot
        else:
            piece = split_lot_nb(state, slot, matched)
        lost = apply_replacement_nb(
            state, piece, matched, loss_per_share, state.realized[row]["holding_start"], sale_day
        )
        book_disallowed_nb(state, row, matched * loss_per_share, lost, year)
        remaining -= matched
    if remaining > SHARE_EPSILON:
        state.realized[row]["loss_shares_open"] = remaining
        append_pending_nb(state, row)


match_sale_portion_nb = njit(cache=True, error_model="numpy")(match_sale_portion)


def match_acquisition(state, slot, day):
    """Match a new lot (slot) against sales whose 30-day window after the sale is still open.

    The earlier sale is adjusted retroactively (IRC §1091(a): "within a period beginning 30
    days before the date of such sale ... and ending 30 days after such date"). Open windows of
    the lot's identity group are taken in sale order; expired and exhausted ones are dropped.
    """
    group = state.asset_group[state.lot_asset[slot]]
    previous = NO_SLOT
    row = state.pending_head[group]
    while row != NO_SLOT:
        record = state.realized[row]
        following = record["next_pending"]
        if (
            slot != NO_SLOT
            and record["sold"] >= day - WASH_WINDOW_DAYS
            and state.lot_origin[slot] != record["origin"]
        ):
            open_shares = record["loss_shares_open"]
            loss_per_share = record["loss_per_open_share"]
            matched = min(open_shares, state.lot_shares[slot])
            whole_lot = matched >= state.lot_shares[slot] - SHARE_EPSILON
            if whole_lot:
                matched = state.lot_shares[slot]
                piece = slot
            else:
                piece = split_lot_nb(state, slot, matched)
            lost = apply_replacement_nb(
                state, piece, matched, loss_per_share, record["holding_start"], record["sold"]
            )
            sale_year = year_index_nb(year_of_nb(record["sold"]))
            book_disallowed_nb(state, row, matched * loss_per_share, lost, sale_year)
            record["loss_shares_open"] = max(open_shares - matched, 0.0)
            if whole_lot:
                slot = NO_SLOT  # the new lot is used up; later windows stay open
        if record["sold"] < day - WASH_WINDOW_DAYS or record["loss_shares_open"] <= SHARE_EPSILON:
            # window closed for good: unlink the row
            if previous == NO_SLOT:
                state.pending_head[group] = following
            else:
                state.realized[previous]["next_pending"] = following
            if state.pending_tail[group] == row:
                state.pending_tail[group] = previous
            record["next_pending"] = NO_SLOT
        else:
            previous = row
        row = following


match_acquisition_nb = njit(cache=True, error_model="numpy")(match_acquisition)


# Read-only queries for strategies that must never trigger a wash sale.


def buy_would_wash(state, asset, day):
    """True if acquiring ``asset`` on ``day`` would replace shares sold at a loss.

    A purchase (or reinvestment) in any household account is a replacement for loss shares of
    the same identity group sold within the 30 calendar days before it that are still
    unmatched (IRC §1091(a); Pub 550 "Wash Sales"). Reads the group's list of open windows.
    """
    row = state.pending_head[state.asset_group[asset]]
    while row != NO_SLOT:
        record = state.realized[row]
        if record["loss_shares_open"] > SHARE_EPSILON and record["sold"] >= day - WASH_WINDOW_DAYS:
            return True
        row = record["next_pending"]
    return False


buy_would_wash_nb = njit(cache=True)(buy_would_wash)


def sale_would_wash(state, account, asset, day, selling_all):
    """True if a loss sale of ``asset`` in ``account`` on ``day`` would find a replacement
    among shares already held.

    Replacements are shares of the same identity group in any household account acquired on
    or after ``day - 30`` (IRC §1091(a): "within a period beginning 30 days before ... the
    date of such sale"). With ``selling_all`` the whole (account, asset) position is sold, so
    its own lots are relieved before matching and cannot replace; otherwise they can (unless
    they are the sold shares' own purchase, which this conservative query does not assume).
    Loss shares bought later are ruled out by :func:`buy_would_wash` at each later purchase.
    """
    group = state.asset_group[asset]
    for member in range(state.group_offsets[group], state.group_offsets[group + 1]):
        member_asset = state.group_assets[member]
        for other_account in range(state.head.shape[0]):
            if selling_all and other_account == account and member_asset == asset:
                continue
            slot = state.tail[other_account, member_asset]
            if slot != NO_SLOT and state.lot_acquired[slot] >= day - WASH_WINDOW_DAYS:
                return True
    return False


sale_would_wash_nb = njit(cache=True)(sale_would_wash)


def group_held_elsewhere(state, account, asset, reinvesting_only):
    """True if another (account, asset) of ``asset``'s identity group holds shares.

    With ``reinvesting_only``, only accounts that reinvest distributions count: their
    dividends would be acquisitions inside a harvest's 30-day window (Pub 550: "if you buy
    ... under a dividend reinvestment plan").
    """
    group = state.asset_group[asset]
    for member in range(state.group_offsets[group], state.group_offsets[group + 1]):
        member_asset = state.group_assets[member]
        for other_account in range(state.head.shape[0]):
            if other_account == account and member_asset == asset:
                continue
            if reinvesting_only and not state.account_reinvest[other_account]:
                continue
            if state.head[other_account, member_asset] != NO_SLOT:
                return True
    return False


group_held_elsewhere_nb = njit(cache=True)(group_held_elsewhere)
