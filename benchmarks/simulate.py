"""Simulator speed: calendar rebalancing of ETFs over 25 daily years (``python -m
benchmarks.simulate``). Needs ``../shared/data`` (or ``TAXSIM_SHARED_DATA``)."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from strategies import calendar_rebalance
from taxsim import Account, Household, load
from taxsim.engine import simulate

TICKERS = ["DIA", "QQQ", "SPY", "XLK", "IVV", "IWM", "VTI", "VGT"]  # full history from 2001


def main() -> None:
    data = Path(os.environ.get("TAXSIM_SHARED_DATA", Path(__file__).parents[2] / "shared/data"))
    market = load(TICKERS, "2001-06-15", "2026-06-01", source=data / "us_etfs_1999_2026.parquet")
    household = Household([Account("taxable")])
    strategy = calendar_rebalance("monthly")
    targets = {"taxable": {ticker: 1 / len(TICKERS) for ticker in TICKERS}}
    start = time.perf_counter()
    simulate(market, household, strategy, targets, contributions={"taxable": 1e6})
    print(f"first run (compile or cache load): {time.perf_counter() - start:.2f} s")
    for daily_liquidation in (False, True):
        times = []
        for _ in range(7):
            start = time.perf_counter()
            simulate(market, household, strategy, targets, contributions={"taxable": 1e6},
                     daily_liquidation=daily_liquidation)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(f"{len(TICKERS)} ETFs x {market.n_dates} days, monthly calendar, "
              f"daily_liquidation={daily_liquidation}: {median * 1e3:.1f} ms per run "
              f"(target < 10 ms: {'met' if median < 0.01 else 'missed'})")


if __name__ == "__main__":
    main()
