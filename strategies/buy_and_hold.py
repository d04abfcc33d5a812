"""Buy and hold: contributions are invested at the targets; nothing is ever rebalanced."""

from __future__ import annotations

import numpy as np
from numba import njit

from taxsim.engine import Strategy


def buy_and_hold_decide(day_index, day, prices, holdings, cash, targets, state, params, orders):
    """Never trades (the engine invests contributions at the targets)."""
    return 0


buy_and_hold_decide_nb = njit(cache=True)(buy_and_hold_decide)


def buy_and_hold(lot_method: str = "fifo") -> Strategy:
    """The buy-and-hold strategy; ``lot_method`` is used when cash is raised for a tax paid from
    the portfolio (withdrawals choose lots tax-aware: ``Strategy.withdrawal_lot_method``)."""
    return Strategy("buy and hold", buy_and_hold_decide_nb, np.zeros(0), lot_method=lot_method,
                    description="invest contributions at the targets; never rebalance")
