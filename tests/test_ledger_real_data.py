"""Real data: a stock's history replayed through the ledger with every dividend reinvested.

With no sales, reinvesting each dividend at the ex-date close and applying each split must
grow one share exactly like the vendor's total-return price ``adjusted_close``.
"""

from __future__ import annotations

import pandas as pd
import pytest

from taxsim import Account, Household, Ledger

# Splits and dividends; HBI has a split and a dividend on the same day (2015-03-04).
TICKERS = ["AAPL", "MSFT", "NVDA", "WMT", "KO", "HBI"]


@pytest.fixture(scope="module")
def sp500(shared_data_dir):
    frame = pd.read_parquet(
        shared_data_dir / "sp500_stocks_1999_2021.parquet",
        filters=[("ticker", "in", TICKERS)],
    )
    frame["ticker"] = frame["ticker"].astype(str)
    return frame


@pytest.mark.shared_data
@pytest.mark.parametrize("ticker", TICKERS)
def test_reinvested_replay_matches_adjusted_close(sp500, ticker):
    history = sp500[sp500["ticker"] == ticker].sort_values("date").reset_index(drop=True)
    household = Household([Account("taxable", reinvest=True)])
    ledger = Ledger(household, [ticker])
    first = history.iloc[0]
    ledger.buy("taxable", ticker, 1.0, first["close"], first["date"])
    for row in history.iloc[1:].itertuples(index=False):
        # On a day with both, the split comes first and the dividend is per post-split share
        # (the convention of data/README.md, which agrees with the vendor's adjusted_close).
        if row.split_ratio != 1.0:
            ledger.split(ticker, row.date, row.split_ratio)
        if row.dividend > 0:
            ledger.distribute(ticker, row.date, price=row.close, dividend=row.dividend)
    last = history.iloc[-1]
    final_value = ledger.lots()["shares"].sum() * last["close"]
    growth = last["adjusted_close"] / first["adjusted_close"]
    assert final_value / first["close"] == pytest.approx(growth, rel=1e-8)
    assert (history["dividend"] > 0).sum() == len(ledger.lots()) - 1
