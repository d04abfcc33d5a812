"""Sweep benchmark: scenarios per second, in process and through a dask LocalCluster.

    python -m benchmarks.sweep                   # the issue's workload: 10,000 scenarios
    python -m benchmarks.sweep --n 400 --no-dask # quicker
    python -m benchmarks.sweep --metrics summarize

The workload (issue "Batch sweeps"): 10,000 scenarios of a 5-ETF household (taxable + IRA)
over 20 daily years of synthetic markets, with tax-loss harvesting (daily checks) and drift
bands (±5 points by family), plus the twins (non-managed: drift bands without harvesting;
pre-tax): three simulations per scenario. Scenarios are simulated paths x harvest thresholds
(20 thresholds, 1% to 10%; n / 20 paths of one seed), so each path's non-managed twin is
shared by its 20 scenarios (``TwinCache``). The taxable account keeps its distributions in
cash for the strategy to invest, as harvesting accounts usually do: where an account reinvests,
the harvester may sell only whole positions at a net loss (one harvest in 20 years on path 0,
against 25 without reinvestment). Compilation and the first market are timed apart
(one warm-up scenario). In process it runs once sequentially and once on ``--threads``
threads (default 2). Target: 500/s in process. Results go to benchmarks/results/sweep.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from taxsim.config import run_config
from taxsim.sweep import result_metrics, run_sweep, spec_from_dict
from taxsim.sweep.runner import twin_cache

BASE = {
    "name": "benchmark",
    "market": {"source": "synthetic", "seed": 5, "years": 20.0,
               "tickers": ["USTOTAL", "USLARGE", "INTL", "BOND", "REIT"]},
    "household": {"filing_status": "married_joint", "accounts": [
        {"name": "taxable", "cash": 1_000_000.0, "reinvest": False},
        {"name": "ira", "kind": "tax_deferred", "cash": 300_000.0}]},
    "targets": {"taxable": {"USTOTAL": 0.5, "INTL": 0.3, "BOND": 0.2},
                "ira": {"BOND": 0.5, "REIT": 0.5}},
    "strategy": {"name": "loss_harvest", "params": {
        "substitutes": [["USTOTAL", "USLARGE"]], "rebalance": "bands", "band": 0.05}},
    "costs": {"cost_bps": 2.0},
    "run": {"twins": True, "daily_liquidation": False},
}
N_THRESHOLDS = 20


def spec(n: int, metrics: str):
    """``n`` scenarios: ``n / 20`` paths x 20 harvest thresholds (fewer thresholds below 20)."""
    n_thresholds = min(N_THRESHOLDS, max(1, n))
    thresholds = [round(0.01 + 0.09 * i / max(1, N_THRESHOLDS - 1), 6)
                  for i in range(n_thresholds)]
    paths = list(range(max(1, n // n_thresholds)))
    return spec_from_dict({
        "sweep": {"name": "benchmark", "metrics": metrics, "chunk_size": 20},
        "base": BASE,
        "product": {"market.path": paths, "strategy.params.threshold": thresholds},
    })


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--metrics", default="summary", choices=["summary", "summarize"])
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads of the second in-process run (the day loop is nogil)")
    args = parser.parse_args()
    report: dict = {"machine": platform.machine(), "python": platform.python_version(),
                    "metrics": args.metrics}
    sweep = spec(args.n, args.metrics)
    start = time.perf_counter()
    warm = run_config(sweep.config(sweep.scenarios[0]))
    report["warm_up_s (compile + 20y market)"] = time.perf_counter() - start
    start = time.perf_counter()
    run_config(sweep.config(sweep.scenarios[0]))
    report["one_scenario_simulate_s (3 runs)"] = time.perf_counter() - start
    start = time.perf_counter()
    result_metrics(warm, args.metrics)
    report["one_scenario_metrics_s"] = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        twin_cache().clear()  # each run simulates its shared twins itself
        start = time.perf_counter()
        table = run_sweep(sweep, Path(folder) / "local", progress=False)
        elapsed = time.perf_counter() - start
        report["inprocess"] = {"scenarios": len(table), "seconds": elapsed,
                               "per_second": len(table) / elapsed,
                               "failed": int((table["status"] != "ok").sum())}
        twin_cache().clear()
        start = time.perf_counter()
        table = run_sweep(sweep, Path(folder) / "threads", workers=args.threads, progress=False)
        elapsed = time.perf_counter() - start
        report[f"inprocess_{args.threads}_threads"] = {
            "scenarios": len(table), "seconds": elapsed, "per_second": len(table) / elapsed,
            "failed": int((table["status"] != "ok").sum())}
        if not args.no_dask:
            try:
                from distributed import Client, LocalCluster
            except ImportError:
                report["dask"] = "skipped: dask.distributed not installed"
            else:
                with LocalCluster(n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster, Client(cluster) as client:
                    client.run(lambda: run_config(sweep.config(sweep.scenarios[0])) and None)
                    start = time.perf_counter()
                    table = run_sweep(sweep, Path(folder) / "dask", client=client,
                                      progress=False)
                    elapsed = time.perf_counter() - start
                report["dask_localcluster_2_workers"] = {
                    "scenarios": len(table), "seconds": elapsed,
                    "per_second": len(table) / elapsed}
    print(json.dumps(report, indent=2))
    out = Path(__file__).parent / "results" / "sweep.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
