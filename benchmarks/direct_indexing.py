"""Direct-indexing benchmark: 500 stocks x 20 years, daily harvest checks.

Run from the repository root::

    python -m benchmarks.direct_indexing             # median of 3 runs
    python -m benchmarks.direct_indexing --repeat 5 --stocks 500 --years 20

Target: under 1 s per run after compilation, on one core. The first call is timed apart
(compilation of the day loop for the strategy, or loading it from numba's cache). The market
is the synthetic default universe's single stocks (8 sectors, 0.5 correlation within a
sector), equal weight, one taxable account with $10M on the first day, dividends reinvested,
2 bps costs, tax paid from outside. Results are also written to
``benchmarks/results/direct_indexing.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from strategies.direct_indexing import (
    PARAM_HARVESTED_LOSS,
    PARAM_HARVESTS,
    direct_indexing,
    tracking,
)
from taxsim import Account, Household
from taxsim.engine import simulate
from taxsim.market.synthetic import default_universe, synthetic_market

TARGET_SECONDS = 1.0


def run_once(market, strategy, daily_liquidation):
    household = Household([Account("taxable")])
    start = time.perf_counter()
    result = simulate(market, household, strategy, {}, contributions={"taxable": 10_000_000.0},
                      cost_bps=2.0, tax_payment="outside", daily_liquidation=daily_liquidation)
    return time.perf_counter() - start, result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stocks", type=int, default=500)
    parser.add_argument("--years", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    market = synthetic_market(universe=default_universe(args.stocks)[6:], years=args.years,
                              seed=args.seed)
    generate_s = time.perf_counter() - start
    strategy = direct_indexing(market, threshold=0.05, check_every=1, rebalance="quarterly")
    first_s, result = run_once(market, strategy, False)
    runs = {}
    for daily in (False, True):
        times = []
        for _ in range(args.repeat):
            seconds, result = run_once(market, strategy, daily)
            times.append(seconds)
        runs["daily_liquidation" if daily else "end_only"] = statistics.median(times)
    twin_first, twin_result = run_once(market, strategy.twin, False)
    twin_s = statistics.median(run_once(market, strategy.twin, False)[0]
                               for _ in range(args.repeat))
    realized = result.ledger.realized()
    managed = tracking(result)
    twin = tracking(twin_result, strategy)
    report = {
        "stocks": args.stocks,
        "years": args.years,
        "days": market.n_dates,
        "sectors": len(set(market.sector)),
        "generate_market_s": round(generate_s, 3),
        "first_call_s": round(first_s, 3),
        "run_s_median_end_only": round(runs["end_only"], 3),
        "run_s_median_daily_liquidation": round(runs["daily_liquidation"], 3),
        "twin_run_s_median": round(twin_s, 3),
        "target_s": TARGET_SECONDS,
        "target_met": runs["end_only"] < TARGET_SECONDS,
        "harvests": int(result.params[PARAM_HARVESTS]),
        "harvested_loss": round(float(result.params[PARAM_HARVESTED_LOSS]), 2),
        "wash_disallowed": round(float(realized["wash_disallowed"].sum()), 2),
        "trades": len(result.trades),
        "open_lots_end": len(result.ledger.lots()),
        "tracking_error": round(managed["tracking_error"], 5),
        "twin_tracking_error": round(twin["tracking_error"], 5),
        "liquidation_value": round(result.liquidation_value, 2),
        "twin_liquidation_value": round(twin_result.liquidation_value, 2),
        "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus",
        "numba_threads": os.environ.get("NUMBA_NUM_THREADS", "default"),
    }
    for key, value in report.items():
        print(f"{key:>32}: {value}")
    print(f"target (< {TARGET_SECONDS:g} s per run after compile): "
          f"{'met' if report['target_met'] else 'NOT met'}")
    folder = Path(__file__).parent / "results"
    folder.mkdir(exist_ok=True)
    (folder / "direct_indexing.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
