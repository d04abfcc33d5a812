"""Every benchmark case on taxsim and its peers, in one run: ``python -m benchmarks``.

Prints a markdown table (times, ratios, targets, peak memory), writes
``benchmarks/results/benchmarks.json`` and rewrites ``benchmarks/RESULTS.md`` with the machine's
description. Each (case, tool) runs in its own process, twice: first with empty numba and taxsim
kernel caches (so the first call's compile time is measured), then with those caches filled
(the first call only loads compiled code; the median of the repeated calls is the run time).
Peers (vectorbt, bt) come from ``pip install -e ".[benchmarks]"``; a missing one is reported,
not faked. Needs ``../shared/data`` (or ``TAXSIM_SHARED_DATA``).

    python -m benchmarks                 # every case (about 5-10 minutes on 2 cores)
    python -m benchmarks --cases a10 b   # some cases
    python -m benchmarks --warm-only     # skip the cold-cache compile runs
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.cases import CASE_TOOLS

HERE = Path(__file__).parent
ROOT = HERE.parent
REPEATS = {"a10": 7, "a25": 7, "b": 7, "c": 1, "d": 2}
NO_COMPILE = {"bt", "reference"}  # plain Python: nothing to compile
CASE_TITLES = {
    "a10": "a. no-tax monthly rebalancing, 10 ETFs x 14.6 y (2011-10-20..2026-05-29)",
    "a25": "a. no-tax monthly rebalancing, 7 ETFs x 25 y (2001-06-15..2026-05-29)",
    "b": "b. tax lots + daily harvesting, 10 ETFs x 14.6 y",
    "c": "c. direct indexing, 500 stocks x 20 y, daily harvest checks",
    "d": "d. sweep throughput, 2,000 scenarios of harvesting + drift bands, 5 ETFs x 20 y "
         "(100 paths x 20 thresholds; 3 runs each: managed + twins, a path's twin shared), "
         "in process on 2 threads",
}
# (case, slower tool, faster tool, minimum time ratio slower/faster, what it means)
RATIO_TARGETS = [
    ("a10", "vectorbt", "taxsim", 1 / 1.5, "taxsim <= 1.5x vectorbt's time"),
    ("a25", "vectorbt", "taxsim", 1 / 1.5, "taxsim <= 1.5x vectorbt's time"),
    ("a10", "bt", "taxsim", 50.0, "taxsim >= 50x faster than bt"),
    ("a25", "bt", "taxsim", 50.0, "taxsim >= 50x faster than bt"),
    ("b", "reference", "taxsim", 100.0, "taxsim >= 100x faster than the plain-Python reference"),
]
ABSOLUTE_TARGETS = {
    "c": ("run_s", 1.0, "< 1 s per run"),
    "d": ("scenarios_per_s", 500.0, ">= 500 scenarios/s"),
}
EQUAL_VALUE_TOLERANCE = 1e-6  # relative: the proof that the tools ran the same job


def installed(tool: str) -> bool:
    if tool in ("taxsim", "reference"):
        return True
    try:
        importlib.metadata.version(tool)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def run_case(case: str, tool: str, repeat: int, cache: Path | None) -> dict:
    """One (case, tool) in a fresh process; ``cache``: the numba and kernel cache folder."""
    environment = dict(os.environ, PYTHONWARNINGS="ignore")
    if cache is not None:
        environment["NUMBA_CACHE_DIR"] = str(cache / "numba")
        environment["TAXSIM_KERNEL_CACHE"] = str(cache / "kernels")
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.cases", case, tool, str(repeat)],
        cwd=ROOT, env=environment, capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        return {"case": case, "tool": tool, "error": completed.stderr.strip()[-2000:]}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gib = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    versions = {}
    for package in ("numpy", "pandas", "numba", "vectorbt", "bt", "taxsim"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {"cpu": cpu, "cpus": os.cpu_count(), "memory_gib": memory_gib,
            "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "versions": versions}


def collect(cases: list[str], warm_only: bool) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="taxsim-bench-") as folder:
        for case in cases:
            for tool in CASE_TOOLS[case]:
                if not installed(tool):
                    rows.append({"case": case, "tool": tool,
                                 "error": f"{tool} is not installed: "
                                 "pip install -e '.[benchmarks]'"})
                    continue
                cache = Path(folder) / f"{case}-{tool}"
                cold = None
                if not warm_only and tool not in NO_COMPILE:
                    print(f"{case}/{tool}: cold caches ...", file=sys.stderr, flush=True)
                    cold = run_case(case, tool, 1, cache)
                print(f"{case}/{tool}: warm ...", file=sys.stderr, flush=True)
                warm = run_case(case, tool, REPEATS[case] if tool != "reference" else 3,
                                None if warm_only else cache)
                if cold and "error" not in cold and "error" not in warm:
                    warm["compile_s"] = max(0.0, cold["first_call_s"] - warm["run_s"])
                if "error" not in warm and tool not in NO_COMPILE:
                    warm["cache_load_s"] = max(0.0, warm["first_call_s"] - warm["run_s"])
                rows.append(warm)
    return rows


def check(rows: list[dict]) -> list[dict]:
    """Same-job proofs and targets."""
    by = {(row["case"], row["tool"]): row for row in rows if "error" not in row}
    checks = []
    for case in ("a10", "a25", "b"):
        values = {tool: by[(case, tool)]["value"] for tool in CASE_TOOLS[case]
                  if (case, tool) in by}
        if len(values) > 1:
            base = values["taxsim"]
            worst = max(abs(value - base) / abs(base) for value in values.values())
            what = "final value" if case != "b" else "total tax"
            checks.append({"case": case,
                           "check": f"same {what} (relative {EQUAL_VALUE_TOLERANCE:g})",
                           "value": f"max relative difference {worst:.1e}",
                           "met": worst <= EQUAL_VALUE_TOLERANCE})
    for case, slower, faster, minimum, text in RATIO_TARGETS:
        if (case, slower) in by and (case, faster) in by:
            ratio = by[(case, slower)]["run_s"] / by[(case, faster)]["run_s"]
            checks.append({"case": case, "check": text,
                           "value": f"{slower}/{faster} time ratio {ratio:.2f}",
                           "met": ratio >= minimum})
    for case, (field, target, text) in ABSOLUTE_TARGETS.items():
        if (case, "taxsim") in by:
            value = by[(case, "taxsim")][field]
            met = value < target if field == "run_s" else value >= target
            checks.append({"case": case, "check": text, "value": f"{field} {value:.3g}",
                           "met": met})
    return checks


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1e3:.2f} ms" if value < 1.0 else f"{value:.2f} s"


def table(rows: list[dict], checks: list[dict]) -> str:
    fastest = {}
    for row in rows:
        if "error" not in row:
            fastest[row["case"]] = min(fastest.get(row["case"], row["run_s"]), row["run_s"])
    lines = [
        "| case | tool | run (median) | x fastest | runs | compile (cold caches) | "
        "cache load | peak memory | value |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        title = CASE_TITLES[row["case"]]
        if "error" in row:
            reason = row["error"].splitlines()[-1] if row["error"] else "failed"
            lines.append(f"| {title} | {row['tool']} | {reason} | | | | | | |")
            continue
        value = row["value"]
        if row["case"] == "d":
            value_text = f"{row['scenarios_per_s']:.1f} scenarios/s"
        elif row["case"] == "b":
            value_text = f"total tax ${value:,.2f}"
        else:
            value_text = f"${value:,.2f}"
        lines.append(
            f"| {title} | {row['tool']} | {seconds(row['run_s'])} | "
            f"{row['run_s'] / fastest[row['case']]:.1f} | {row['runs']} | "
            f"{seconds(row.get('compile_s'))} | {seconds(row.get('cache_load_s'))} | "
            f"{row['peak_rss_mib']:.0f} MiB (+{row['peak_rss_mib'] - row['setup_rss_mib']:.0f}) | "
            f"{value_text} |"
        )
    lines += ["", "| case | check | measured | met |", "|---|---|---|---|"]
    for item in checks:
        lines.append(f"| {item['case']} | {item['check']} | {item['value']} | "
                     f"{'yes' if item['met'] else '**no**'} |")
    return "\n".join(lines)


def results_markdown(report: dict, markdown: str) -> str:
    about = report["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in about["versions"].items())
    notes_path = HERE / "NOTES.md"
    notes = notes_path.read_text() if notes_path.exists() else ""
    return (
        "# Benchmark results\n\n"
        "Written by `python -m benchmarks` (do not edit by hand; the notes below come from "
        "`benchmarks/NOTES.md`).\n\n"
        f"- Run: {report['finished']}\n"
        f"- Machine: {about['cpu']}, {about['cpus']} CPUs, {about['memory_gib']} GiB, "
        f"{about['os']}, Python {about['python']}\n"
        f"- Versions: {versions}\n\n"
        "Run time is the median of the repeated calls after the first in a process whose caches "
        "were already filled; compile is the first call's extra time with empty numba and "
        "taxsim kernel caches; cache load is the first call's extra time with them filled. "
        "Peak memory is the process's peak resident set (in brackets: above what it held after "
        "imports and data loading). Each (case, tool) runs in its own process.\n\n"
        f"{markdown}\n\n{notes}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="taxsim and its peers, side by side")
    parser.add_argument("--cases", nargs="*", default=list(CASE_TOOLS), choices=list(CASE_TOOLS))
    parser.add_argument("--warm-only", action="store_true",
                        help="skip the cold-cache runs (no compile times)")
    parser.add_argument("--no-write", action="store_true",
                        help="print only; leave results/ and RESULTS.md alone")
    args = parser.parse_args(argv)
    rows = collect(args.cases, args.warm_only)
    checks = check(rows)
    markdown = table(rows, checks)
    print(markdown)
    report = {"finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": machine(), "rows": rows, "checks": checks}
    if not args.no_write:
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "benchmarks.json").write_text(json.dumps(report, indent=2) + "\n")
        (HERE / "RESULTS.md").write_text(results_markdown(report, markdown))
    return 0 if all("error" not in row for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
