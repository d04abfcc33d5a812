"""The benchmark cases, one (case, tool) per process: ``python -m benchmarks.cases CASE TOOL``.

Each run loads its data, times the first call (compilation, or loading compiled code from the
caches) apart from the median of the repeated calls, reads the process's peak resident memory,
and prints one JSON object on its last line. ``python -m benchmarks`` runs them all and writes
the table; see ``benchmarks/README.md``.

Cases
-----
a10, a25
    No-tax monthly rebalancing to equal weights, dividends ignored by every tool (prices only),
    no costs, $1M on the first day: taxsim, vectorbt (``Portfolio.from_orders`` with target
    percentages) and bt. ``a10``: the 10 ETFs of ``us_etfs`` with a common history
    (2011-10-20 .. 2026-05-29, 14.6 years); ``a25``: the 7 with 25 years (2001-06-15 ..
    2026-05-29). The data has no 10 ETFs over 25 years.
b
    The 10 ETFs with tax lots, real dividends (kept as cash and invested by the strategy),
    1 bp costs and daily loss harvesting between substitutes, monthly rebalancing: taxsim's
    whole simulation against the plain-Python reference ledger replaying that run's market
    events and trade log (the reference does only the ledger's share of the job, so the
    ratio understates the gap; it runs without its per-operation rollback snapshot, a deep
    copy of its whole state that would make it quadratic).
c
    Direct indexing: 500 synthetic stocks x 20 years, daily harvest checks (taxsim only; see
    ``benchmarks/direct_indexing.py``).
d
    Sweep throughput: loss-harvesting scenarios with both twins, in process (taxsim only; see
    ``benchmarks/sweep.py``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TEN_ETFS = ["SPY", "VOO", "IVV", "VTI", "QQQ", "IWM", "DIA", "SCHD", "VGT", "XLK"]
SEVEN_ETFS = ["SPY", "IVV", "VTI", "QQQ", "IWM", "DIA", "XLK"]
PERIODS = {
    "a10": (TEN_ETFS, "2011-10-20", "2026-05-29"),
    "a25": (SEVEN_ETFS, "2001-06-15", "2026-05-29"),
    "b": (TEN_ETFS, "2011-10-20", "2026-05-29"),
}
HARVEST_SUBSTITUTES = [("SPY", "IVV", "VOO", "VTI"), ("QQQ", "VGT", "XLK"), ("DIA", "SCHD")]
INITIAL_CASH = 1_000_000.0
CASE_TOOLS = {
    "a10": ("taxsim", "vectorbt", "bt"),
    "a25": ("taxsim", "vectorbt", "bt"),
    "b": ("taxsim", "reference"),
    "c": ("taxsim",),
    "d": ("taxsim",),
}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MiB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def shared_market(case: str, dividends: bool):
    from taxsim import load

    tickers, start, end = PERIODS[case]
    market = load(tickers, start, end, source="us_etfs")
    if not dividends:
        market = dataclasses.replace(market, dividend=np.zeros_like(market.dividend))
    return market


def rebalance_days(market) -> np.ndarray:
    """True on the first trading day of each calendar month (and on the first day)."""
    months = market.dates.astype("datetime64[D]").astype("datetime64[M]")
    return np.concatenate([[True], months[1:] != months[:-1]])


# ---------------------------------------------------------------------------- case a


def case_a(case: str, tool: str):
    """(setup, run) where run() returns the final value in dollars."""
    market = shared_market(case, dividends=False)
    n_assets = market.n_assets
    if tool == "taxsim":
        from strategies import calendar_rebalance
        from taxsim import Account, Household
        from taxsim.engine import simulate

        household = Household([Account("taxable")])
        targets = {"taxable": {ticker: 1.0 / n_assets for ticker in market.tickers}}
        strategy = calendar_rebalance("monthly", min_trade=0.0)

        def run():
            result = simulate(market, household, strategy, targets,
                              contributions={"taxable": INITIAL_CASH}, taxes=False,
                              daily_liquidation=False)
            return result.summary()["end_value"]
        return market, run

    import pandas as pd

    prices = pd.DataFrame(market.close, index=market.pandas_dates, columns=list(market.tickers))
    if tool == "vectorbt":
        import vectorbt as vbt

        weights = np.where(rebalance_days(market)[:, None], 1.0 / n_assets, np.nan)
        size = pd.DataFrame(np.broadcast_to(weights, prices.shape), index=prices.index,
                            columns=prices.columns)

        def run():
            portfolio = vbt.Portfolio.from_orders(
                prices, size, size_type="targetpercent", group_by=True, cash_sharing=True,
                call_seq="auto", init_cash=INITIAL_CASH, fees=0.0, freq="1D")
            return float(portfolio.value().iloc[-1])
        return market, run
    if tool == "bt":
        import bt

        def run():
            strategy = bt.Strategy("equal weight monthly", [
                bt.algos.RunMonthly(run_on_first_date=True), bt.algos.SelectAll(),
                bt.algos.WeighEqually(), bt.algos.Rebalance()])
            backtest = bt.Backtest(strategy, prices, initial_capital=INITIAL_CASH,
                                   integer_positions=False, commissions=lambda q, p: 0.0,
                                   progress_bar=False)
            bt.run(backtest)
            return float(backtest.strategy.values.iloc[-1])
        return market, run
    raise ValueError(f"case {case}: unknown tool {tool!r}")


# ---------------------------------------------------------------------------- case b


def harvest_result():
    from strategies import loss_harvest
    from taxsim import Account, Household
    from taxsim.engine import simulate

    market = shared_market("b", dividends=True)
    household = Household([Account("taxable", reinvest=False)])
    strategy = loss_harvest(market.tickers, HARVEST_SUBSTITUTES, n_accounts=1, threshold=0.05,
                            rebalance="monthly", check_every=1)
    targets = {"taxable": {ticker: 1.0 / market.n_assets for ticker in market.tickers}}

    def run():
        return simulate(market, household, strategy, targets,
                        contributions={"taxable": INITIAL_CASH}, cost_bps=1.0,
                        daily_liquidation=False)
    return market, run


def total_tax(annual) -> float:
    return float(annual["total_tax"].sum())


def case_b(tool: str):
    market, simulate_run = harvest_result()
    if tool == "taxsim":
        def run():
            summary = simulate_run().summary()
            return (summary["tax_paid_from_portfolio"] + summary["tax_paid_from_outside"]
                    + summary["tax_payable_at_end"])
        return market, run
    if tool == "reference":
        from tests.reference.replay import replay  # run from the repository root

        result = simulate_run()  # the trade log to replay (outside the timing)

        def run():
            return total_tax(replay(result, atomic=False).annual_tax())
        return market, run
    raise ValueError(f"case b: unknown tool {tool!r}")


# ---------------------------------------------------------------------------- cases c, d


def case_c(tool: str):
    from benchmarks.direct_indexing import run_once
    from strategies.direct_indexing import direct_indexing
    from taxsim.market.synthetic import default_universe, synthetic_market

    market = synthetic_market(universe=default_universe(500)[6:], years=20.0, seed=0)
    strategy = direct_indexing(market, threshold=0.05, check_every=1, rebalance="quarterly")

    def run():
        return run_once(market, strategy, False)[1].liquidation_value
    return market, run


SWEEP_THREADS = 2
SWEEP_SCENARIOS = 2000  # 100 paths x 20 thresholds: set-up and the last chunk amortized


def case_d(tool: str):
    from benchmarks.sweep import spec
    from taxsim.sweep import run_sweep
    from taxsim.sweep.runner import twin_cache

    sweep = spec(SWEEP_SCENARIOS, "summary")
    folder = Path(tempfile.mkdtemp(prefix="taxsim-bench-sweep-"))
    runs = iter(range(1000))

    def run():
        twin_cache().clear()  # each timed run simulates its shared twins itself
        # the in-process backend on this machine's two cores (threads share the market)
        table = run_sweep(sweep, folder / f"run{next(runs)}", workers=SWEEP_THREADS,
                          progress=False)
        if (table["status"] != "ok").any():
            raise RuntimeError("a sweep scenario failed")
        return float(len(table))
    return sweep, run


# ---------------------------------------------------------------------------- driver


def measure(case: str, tool: str, repeat: int) -> dict:
    """Time the first call apart from ``repeat`` more; peak memory; the value each returned."""
    start = time.perf_counter()
    if case in ("a10", "a25"):
        data, run = case_a(case, tool)
    else:
        data, run = {"b": case_b, "c": case_c, "d": case_d}[case](tool)
    setup_s = time.perf_counter() - start
    rss_after_setup = peak_rss_mb()
    start = time.perf_counter()
    value = run()
    first_call_s = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        again = run()
        times.append(time.perf_counter() - start)
        if again != value:
            raise RuntimeError(f"{case}/{tool}: a repeated run gave {again!r}, not {value!r}")
    report = {
        "case": case,
        "tool": tool,
        "setup_s": setup_s,
        "first_call_s": first_call_s,
        "run_s": statistics.median(times) if times else first_call_s,
        "runs": len(times),
        "peak_rss_mib": peak_rss_mb(),
        "setup_rss_mib": rss_after_setup,
        "value": value,
        "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR", ""),
    }
    if case == "d":
        report["scenarios_per_s"] = value / report["run_s"]
    return report


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        raise SystemExit("usage: python -m benchmarks.cases CASE TOOL [REPEAT]")
    case, tool = argv[0], argv[1]
    repeat = int(argv[2]) if len(argv) > 2 else 5
    if case not in CASE_TOOLS or tool not in CASE_TOOLS[case]:
        raise SystemExit(f"unknown case/tool {case}/{tool}; known: {CASE_TOOLS}")
    print(json.dumps(measure(case, tool, repeat)))


if __name__ == "__main__":
    main()
