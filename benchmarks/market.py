"""Market-data benchmark: load the S&P 500 file, generate synthetic paths.

Run from the repository root::

    python -m benchmarks.market            # both timings
    python -m benchmarks.market --repeat 3 # best of 3

Targets (issue "Market data"): loading the 2.4-million-row ``sp500_stocks_1999_2021.parquet``
into a validated :class:`~taxsim.market.Market` under 2 s; generating 1,000 paths x 20 years x
50 assets under 5 s (numba compilation, a one-off, is timed apart). Results are also written
to ``benchmarks/results/market.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

from taxsim.market import MarketDataWarning, default_universe, generate, load_file
from taxsim.market.files import SHARED_DATASETS, shared_data_dir


def time_load(repeat: int) -> dict:
    path = shared_data_dir() / SHARED_DATASETS["sp500"]
    if not path.exists():
        return {"skipped": f"{path} not found"}
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MarketDataWarning)
            market = load_file(path, gaps="carry_forward")
        times.append(time.perf_counter() - start)
    return {
        "file": path.name,
        "shape": list(market.close.shape),
        "seconds": times,
        "best": min(times),
        "target": 2.0,
    }


def time_generate(repeat: int, n_paths: int, years: float, n_assets: int) -> dict:
    universe = default_universe(n_stocks=n_assets - 6)
    start = time.perf_counter()
    generate(2, universe=universe, years=1, seed=0)  # numba compile (or cache load)
    compile_seconds = time.perf_counter() - start
    times, cpu = [], []
    for k in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        paths = generate(n_paths, universe=universe, years=years, seed=k)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        shape = paths.close.shape
        del paths
    return {
        "shape": list(shape),
        "compile_seconds": compile_seconds,
        "seconds": times,
        "cpu_seconds": cpu,
        "best": min(times),
        "target": 5.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--paths", type=int, default=1000)
    parser.add_argument("--years", type=float, default=20.0)
    parser.add_argument("--assets", type=int, default=50)
    args = parser.parse_args()

    load_average = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load_average:.2f} before the run")
    load = time_load(args.repeat)
    if "skipped" in load:
        print(f"load S&P 500 file: skipped ({load['skipped']})")
    else:
        print(
            f"load {load['file']} into a Market {tuple(load['shape'])}: "
            f"best {load['best']:.2f} s of {[round(t, 2) for t in load['seconds']]} "
            f"(target < {load['target']:.0f} s)"
        )
    gen = time_generate(args.repeat, args.paths, args.years, args.assets)
    print(
        f"generate {gen['shape'][0]} paths x {gen['shape'][1]} dates x {gen['shape'][2]} "
        f"assets: best {gen['best']:.2f} s of {[round(t, 2) for t in gen['seconds']]} "
        f"(target < {gen['target']:.0f} s; numba compile or cache load "
        f"{gen['compile_seconds']:.1f} s; "
        f"CPU seconds {[round(t, 2) for t in gen['cpu_seconds']]}, all threads)"
    )
    results = {
        "load_sp500": load,
        "generate": gen,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": load_average,
            "python": platform.python_version(),
        },
    }
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "market.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
