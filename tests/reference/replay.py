"""Replay a simulation's market events and trade log through the plain-Python reference ledger
(used by tests/test_engine_vs_reference.py and by the benchmarks' case b)."""

from __future__ import annotations

import pandas as pd

from taxsim.ledger import enums as ledger_enums
from tests.reference.ledger import ReferenceLedger


def replay(result, atomic: bool = True) -> ReferenceLedger:
    """Feed the market's events and the run's trades, day by day, to a ReferenceLedger
    (``atomic=False``: without its per-operation rollback snapshot, for speed)."""
    market = result.market
    ledger = result.ledger
    reference = ReferenceLedger(result.household, list(market.tickers), ledger.tax_profile,
                                loss_convention=ledger.loss_convention, atomic=atomic)
    names = result.household.account_names
    trades = pd.DataFrame(result.trades)
    by_day = {day: list(rows.itertuples()) for day, rows in trades.groupby("day")}
    exempt = [c == "municipal_bond" for c in market.tax_character]
    for t, date in enumerate(market.pandas_dates):
        for asset, ticker in enumerate(market.tickers):
            if market.split_ratio[t, asset] != 1.0:
                reference.split(ticker, date, market.split_ratio[t, asset])
            interest = market.interest[t, asset]
            paid = (market.dividend[t, asset] + market.st_capital_gain[t, asset]
                    + market.lt_capital_gain[t, asset] + market.return_of_capital[t, asset]
                    + interest)
            if paid > 0.0:
                reference.distribute(
                    ticker, date, market.close[t, asset], dividend=market.dividend[t, asset],
                    qualified_fraction=market.qualified_fraction[asset],
                    interest=0.0 if exempt[asset] else interest,
                    exempt_interest=interest if exempt[asset] else 0.0,
                    st_capital_gain=market.st_capital_gain[t, asset],
                    lt_capital_gain=market.lt_capital_gain[t, asset],
                    return_of_capital=market.return_of_capital[t, asset],
                    exempt_interest_daily=bool(market.exempt_interest_daily[asset]),
                    section_199a_fraction=float(market.section_199a_fraction[asset]),
                )
        for trade in by_day.get(int(market.dates[t]), ()):
            account, ticker = names[trade.account], market.tickers[trade.asset]
            quantity = abs(trade.shares)
            if trade.shares > 0:
                reference.buy(account, ticker, quantity, trade.price + trade.cost / quantity, date)
            else:
                reference.sell(account, ticker, quantity, trade.price - trade.cost / quantity,
                               date, method=ledger_enums.LOT_METHOD_NAMES[trade.lot_method])
        last = t == market.n_dates - 1
        if last or market.pandas_dates[t + 1].year != date.year:
            reference.close_year(date.year)
    return reference
