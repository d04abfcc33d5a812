"""Calendar rebalancing: back to the targets on the first trading day of each period."""

from __future__ import annotations

import numpy as np
from numba import njit

from strategies.rebalance import period_index_nb, rebalance_account_nb
from taxsim.engine import Strategy
from taxsim.ledger.enums import LOT_METHOD_CODES

PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}
PERIOD_NAMES = {"monthly": "month", "quarterly": "quarter", "yearly": "year"}
PARAM_MONTHS = 0  # months per period
PARAM_LOT_METHOD = 1
PARAM_CASH_RESERVE = 2  # fraction of value kept in cash (for costs)
PARAM_LAST_PERIOD = 3  # state: index of the last period rebalanced (-1 before the first)
PARAM_MIN_TRADE = 4  # dollars: smaller trades are skipped


def calendar_decide(day_index, day, prices, holdings, cash, targets, state, params, orders):
    """Rebalance every account to its targets when a new period starts."""
    period = period_index_nb(day, int(params[PARAM_MONTHS]))
    if period == params[PARAM_LAST_PERIOD]:
        return 0
    params[PARAM_LAST_PERIOD] = period
    n_orders = 0
    for account in range(holdings.shape[0]):
        n_orders = rebalance_account_nb(prices, holdings, cash, targets, account, orders,
                                        n_orders, params[PARAM_LOT_METHOD],
                                        params[PARAM_CASH_RESERVE], params[PARAM_MIN_TRADE])
    return n_orders


calendar_decide_nb = njit(cache=True)(calendar_decide)


def calendar_rebalance(frequency: str = "quarterly", lot_method: str = "fifo",
                       cash_reserve: float = 0.0, min_trade: float = 10.0) -> Strategy:
    """Rebalance to the targets monthly, quarterly or yearly (first trading day of a period).

    The first trading day of the run always rebalances. ``cash_reserve``: fraction of each
    account kept in cash for costs; ``min_trade``: dollars, smaller trades are skipped.
    """
    if frequency not in PERIOD_MONTHS:
        raise ValueError(f"frequency must be one of {sorted(PERIOD_MONTHS)}, got {frequency!r}")
    params = np.array(
        [PERIOD_MONTHS[frequency], LOT_METHOD_CODES[lot_method], cash_reserve, -1.0, min_trade]
    )
    twin = None
    if lot_method != "fifo":
        twin = calendar_rebalance(frequency, "fifo", cash_reserve, min_trade)
    return Strategy(f"calendar rebalancing ({frequency})", calendar_decide_nb, params,
                    lot_method=lot_method,
                    description="back to the targets on the first trading day of each "
                    + PERIOD_NAMES[frequency], twin=twin)
