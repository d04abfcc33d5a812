"""Codes, column numbers and record dtypes of the simulation kernel."""

from __future__ import annotations

import numpy as np

# Order columns (float64 array of shape (max_orders, N_ORDER_FIELDS)) written by a strategy.
ORDER_ACCOUNT = 0
ORDER_ASSET = 1
ORDER_SHARES = 2  # signed: positive buys, negative sells
ORDER_LOT_METHOD = 3  # enums.FIFO, HIFO, TAX_OPTIMAL, ... (sells)
N_ORDER_FIELDS = 4

# Settings (float64 array).
SET_COST_BPS = 0  # trading cost, basis points of notional
SET_COST_PER_TRADE = 1  # dollars per trade
SET_WHOLE_SHARES = 2  # 1: trade whole shares only
SET_ADVISORY_FEE_BPS = 3  # basis points per year of the household's value, accrued daily
SET_TAX_PAYMENT = 4  # PAY_FROM_PORTFOLIO or PAY_FROM_OUTSIDE
SET_TAX_ACCOUNT = 5  # account index that pays (or receives) the annual tax
SET_TAX_SELL_METHOD = 6  # lot method of the engine's sales for a tax paid from the portfolio
# (Strategy.lot_method)
SET_NO_TAX = 7  # 1: the pre-tax twin: no tax is ever charged
SET_DAILY_LIQUIDATION = 8  # 1: record unrealized gain, accrued and liquidation tax every day
SET_STRATEGY_INVESTS_FLOWS = 9  # 1: contributions stay in cash for the strategy to invest
SET_WITHDRAWAL_METHOD = 10  # lot method of the engine's sales for a withdrawal
# (Strategy.withdrawal_lot_method: tax_optimal by default, fifo for the non-managed twin)
SET_STRATEGY_RAISES_CASH = 11  # 1: withdrawals and taxes leave cash negative for the strategy
# to raise the same day (Strategy.raises_cash, or invests_flows); the engine sells the rest
N_SETTINGS = 12

PAY_FROM_PORTFOLIO = 0
PAY_FROM_OUTSIDE = 1
TAX_PAYMENT_NAMES = {
    PAY_FROM_PORTFOLIO: "paid from the portfolio",
    PAY_FROM_OUTSIDE: "paid from outside",
}

# Running totals of a simulation (float64 array), dollars.
TOT_CONTRIBUTIONS = 0
TOT_WITHDRAWALS = 1
TOT_TAX_PAID = 2  # paid from the portfolio (refunds negative)
TOT_TAX_OUTSIDE = 3  # paid from outside
TOT_FEES = 4
TOT_COSTS = 5
TOT_LAST_FEE_DAY = 6
TOT_TAX_DUE_PENDING = 7  # computed at a year's close, payable on the next trading day
TOT_PREVIOUS_VALUE = 8  # household value at the previous day's record
# What a run that stopped refused (read by ``simulate`` to name it in its error):
TOT_ERROR_ORDER = 9  # row of the strategy's order that was refused (-1: an engine trade)
TOT_ERROR_ACCOUNT = 10  # SIM_SHORTFALL: the account that cannot raise the cash
TOT_ERROR_AMOUNT = 11  # SIM_SHORTFALL: dollars asked (the withdrawal or the tax due)
TOT_ERROR_SHORT = 12  # SIM_SHORTFALL: dollars that selling everything would still leave short
TOT_ERROR_REASON = 13  # SIM_SHORTFALL: REASON_WITHDRAWAL, REASON_TAX_PAYMENT, ...
N_TOTALS = 14

# Daily record columns (float64 array (dates, N_RECORD)), dollars; cumulative ones from day 0.
REC_MARKET_GAIN = 0  # price moves and distributions of the day, before money moves
REC_TAX_PAID = 1  # cumulative tax paid from the portfolio (refunds negative)
REC_TAX_OUTSIDE = 2  # cumulative tax paid from outside
REC_CONTRIBUTIONS = 3  # cumulative
REC_WITHDRAWALS = 4  # cumulative
REC_FEES = 5  # cumulative advisory fees
REC_COSTS = 6  # cumulative trading costs
REC_UNREALIZED_GAIN = 7  # open taxable lots: value minus basis
REC_ACCRUED_TAX = 8  # tax on the year's results so far, not yet charged
REC_LIQUIDATION_TAX = 9  # extra tax if every taxable lot were sold today (negative: benefit)
N_RECORD = 10
RECORD_NAMES = (
    "market_gain",
    "tax_paid_cumulative",
    "tax_outside_cumulative",
    "contributions_cumulative",
    "withdrawals_cumulative",
    "fees_cumulative",
    "costs_cumulative",
    "unrealized_gain",
    "accrued_tax",
    "liquidation_tax",
)

# Kernel status.
SIM_OK = 0
SIM_NEED_ROOM = 1  # the trade record is full: grow it and call again from the returned day
SIM_LEDGER_ERROR = 2  # the ledger refused an order (see the returned ledger status)
SIM_BAD_ORDER = 3  # a strategy wrote an impossible order (selling more than held, bad index)
SIM_TOO_MANY_ORDERS = 4  # a strategy wrote more orders than Strategy.max_orders
SIM_SHORTFALL = 5  # an account cannot raise a withdrawal or tax payment (TOT_ERROR_*); nothing
# of it was applied

trade_dtype = np.dtype(
    [
        ("day", np.int64),
        ("account", np.int64),
        ("asset", np.int64),
        ("shares", np.float64),  # signed
        ("price", np.float64),
        ("cost", np.float64),  # dollars of trading cost
        ("lot_method", np.int64),
        ("reason", np.int64),  # REASON_*
    ],
    align=True,
)
REASON_STRATEGY = 0
REASON_TAX_PAYMENT = 1
REASON_WITHDRAWAL = 2
REASON_CONTRIBUTION = 3
REASON_CASH_SHORTFALL = 4  # what a strategy that raises its own cash left unraised
REASON_NAMES = ("strategy", "tax payment", "withdrawal", "contribution", "cash shortfall")
