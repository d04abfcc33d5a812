"""Replay an event log (structure of arrays) through the ledger kernels in one compiled loop.

Used by the benchmark, by tests, and to replay a simulator's trade log through the ledger.
"""

from __future__ import annotations

from numba import njit

from taxsim.ledger.annual_tax import close_year_nb
from taxsim.ledger.distributions import distribute_nb, split_nb
from taxsim.ledger.enums import OK
from taxsim.ledger.lots import buy_nb, sell_nb
from taxsim.ledger.state import has_room_nb, make_room_nb

EVENT_BUY = 0
EVENT_SELL = 1
EVENT_DIVIDEND = 2
EVENT_SPLIT = 3
EVENT_CLOSE_YEAR = 4


def replay_events(state, kind, day, account, asset, shares, price, method, amount,
                  qualified_fraction, specific_ids, specific_shares):
    """Apply events in order; stop at the first refused one.

    Parameters
    ----------
    kind : int64 array
        EVENT_BUY / EVENT_SELL / EVENT_DIVIDEND / EVENT_SPLIT / EVENT_CLOSE_YEAR.
    day : int64 array
        Day numbers (for EVENT_CLOSE_YEAR, ``shares`` holds the year).
    account, asset : int64 arrays
    shares : float64 array
        Shares bought or sold; split ratio for splits; year for year closes.
    price : float64 array
        Dollars per share (reinvestment price for dividends).
    method : int64 array
        Lot method for sells (not SPECIFIC).
    amount : float64 array
        Dividend dollars per share.
    qualified_fraction : float64 array
        Qualified share of each dividend.

    Returns
    -------
    (state, n_applied, status, total_tax_due)
    """
    total_due = 0.0
    for i in range(kind.shape[0]):
        if not has_room_nb(state):
            make_room_nb(state)  # grows the arrays in place (no new state: no reference count)
        if kind[i] == EVENT_BUY:
            status, _ = buy_nb(state, account[i], asset[i], shares[i], price[i], day[i])
        elif kind[i] == EVENT_SELL:
            status, _, _ = sell_nb(state, account[i], asset[i], shares[i], price[i], day[i],
                                   method[i], specific_ids, specific_shares)
        elif kind[i] == EVENT_DIVIDEND:
            status = distribute_nb(state, asset[i], day[i], price[i], amount[i],
                                   qualified_fraction[i], 0.0, 0.0, 0.0, 0.0, 0.0)
        elif kind[i] == EVENT_SPLIT:
            status = split_nb(state, asset[i], day[i], shares[i])
        else:
            status, due = close_year_nb(state, int(shares[i]))
            total_due += due
        if status != OK:
            return state, i, status, total_due
    return state, kind.shape[0], OK, total_due


replay_events_nb = njit(cache=True, error_model="numpy")(replay_events)
