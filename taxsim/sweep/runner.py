"""Running a sweep: in process, on a process pool, or on dask.distributed.

Every backend runs chunks of scenarios, appends finished rows to ``OUT/parts/`` as parquet
files (buffered: see ``_PartWriter``), skips scenarios already there (resume), records a
failing scenario with its error and goes on, and shows a progress bar (tqdm). Twins shared by
scenarios are simulated once per process (:class:`~taxsim.engine.run.TwinCache`).
``OUT/results.parquet`` is the tidy table at the end: one row per scenario, ``scenario_id``,
``status`` ("ok"/"error"), ``error``, ``elapsed_s``, one column per swept parameter (dotted
name), the metrics, then a ``convention_<name>`` column for each convention that differs
between scenarios (a swept loss convention, tax payment, period, strategy, ...). The
conventions every successful scenario shares are stated once: in the table's
``attrs["conventions"]`` (kept in ``results.parquet``) and in ``OUT/sweep.json``
(``"conventions"``; ``"conventions_varying"`` lists the columns).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from taxsim.config import RunConfigError, apply_overrides, config_from_dict, run_config
from taxsim.sweep.spec import Scenario, SweepSpec

BACKENDS = ("inprocess", "process", "dask")
_TWIN_CACHE = None  # per process: twins shared between scenarios (see TwinCache)


def twin_cache():
    """This process's :class:`~taxsim.engine.run.TwinCache` for sweeps (made on first use)."""
    global _TWIN_CACHE
    if _TWIN_CACHE is None:
        from taxsim.engine.run import TwinCache

        _TWIN_CACHE = TwinCache(max_entries=8)
    return _TWIN_CACHE
ROW_KEYS = ("scenario_id", "status", "error", "elapsed_s", "parameters")


# ------------------------------------------------------------------ one scenario, one chunk


CONVENTION_PREFIX = "convention_"


def result_metrics(result, metrics: str = "summarize", conventions: bool = False) -> dict:
    """The metrics of a run as a flat dict of scalars.

    ``"summarize"``: :func:`taxsim.metrics.summarize` (returns, tax alpha with twins, ...);
    ``"summary"``: :meth:`Result.summary` (end values and totals) plus
    :func:`taxsim.metrics.headline` (pre-tax and after-tax returns and, with twins, the tax
    alphas, the same numbers as ``"summarize"``'s); much faster.
    ``conventions``: keep the ``convention_*`` entries (sweeps do; see :func:`split_conventions`);
    by default they are left out.
    """
    if metrics == "summarize":
        from taxsim.metrics import summarize

        values = summarize(result)
    elif metrics == "summary":
        from taxsim.metrics import headline

        values = {**result.summary(), **headline(result)}
    else:
        raise ValueError(f"metrics must be 'summarize' or 'summary', got {metrics!r}")
    out = {}
    for key, value in values.items():
        if key.startswith(CONVENTION_PREFIX) and not conventions:
            continue
        if isinstance(value, (np.floating, np.integer)):
            value = value.item()
        if isinstance(value, (int, float, str, bool)) or value is None:
            out[key] = value
    return out


def _parameter_value(value: Any) -> Any:
    """A swept value as its table cell: lists and tables as JSON, dates (TOML dates, and
    date-times at midnight, which the config reads as dates) as ``YYYY-MM-DD`` strings, as the
    config keeps them (a column mixing TOML dates and date strings could not be written to
    parquet); anything else as is."""
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, _dt.datetime):
        return (value.date().isoformat() if value.time() == _dt.time(0) and value.tzinfo is None
                else value.isoformat())
    if isinstance(value, _dt.date):
        return value.isoformat()
    return value


def run_scenario(base: dict, scenario: Scenario | tuple, metrics: str = "summarize") -> dict:
    """One row: the scenario's id, status, error, time, parameters and metrics.

    Exceptions are caught and recorded (``status="error"``); KeyboardInterrupt and SystemExit
    are not (an interrupted sweep resumes from its parquet parts).
    """
    if isinstance(scenario, tuple):
        scenario = Scenario(*scenario)
    row: dict = {
        "scenario_id": scenario.id,
        "status": "ok",
        "error": "",
        "elapsed_s": 0.0,
        "parameters": json.dumps(scenario.parameters, sort_keys=True, default=str),
    }
    for key, value in scenario.parameters.items():
        row[key] = _parameter_value(value)
    start = time.perf_counter()
    try:
        config = config_from_dict(apply_overrides(base, scenario.parameters),
                                  f"scenario {scenario.id}")
        row.update(result_metrics(run_config(config, twin_cache=twin_cache()), metrics,
                                  conventions=True))
    except Exception as error:  # recorded, the sweep goes on
        row["status"] = "error"
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        row["error"] = f"{type(error).__name__}: {message}" if message else type(error).__name__
        if not isinstance(error, RunConfigError) and os.environ.get("TAXSIM_SWEEP_TRACEBACK"):
            row["error"] += "\n" + traceback.format_exc()
    row["elapsed_s"] = time.perf_counter() - start
    return row


def run_chunk(base: dict, scenarios: Sequence, metrics: str = "summarize") -> list[dict]:
    """Rows of a chunk of scenarios (``(id, parameters)`` pairs or :class:`Scenario`)."""
    return [run_scenario(base, scenario, metrics) for scenario in scenarios]


# ------------------------------------------------------------------ results folder


def _parts_dir(out: Path) -> Path:
    return out / "parts"


def read_results(out: str | Path, order: Sequence[str] | None = None) -> pd.DataFrame:
    """The tidy table of the parts written so far (the latest row of a scenario wins)."""
    parts = sorted(_parts_dir(Path(out)).glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame(columns=list(ROW_KEYS))
    frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    frame = frame.drop_duplicates("scenario_id", keep="last")
    if order is not None:
        rank = {sid: i for i, sid in enumerate(order)}
        frame = frame[frame["scenario_id"].isin(rank)]
        frame = frame.iloc[np.argsort([rank[s] for s in frame["scenario_id"]], kind="stable")]
    return frame.reset_index(drop=True)


def split_conventions(table: pd.DataFrame) -> tuple[pd.DataFrame, dict, list[str]]:
    """``(table, constant, varying)``: the ``convention_*`` columns of a sweep's rows split into
    those every successful row shares (dropped from the table and returned as ``{name: value}``
    without the prefix) and those that differ between rows (kept as columns, moved to the end;
    their names are returned). A convention missing from some successful rows (rows written by
    an older taxsim) counts as differing. Failed rows have no conventions."""
    columns = [c for c in table.columns if str(c).startswith(CONVENTION_PREFIX)]
    ok = table["status"] == "ok" if "status" in table.columns else pd.Series(True, table.index)
    constant: dict = {}
    varying: list[str] = []
    for column in columns:
        values = table.loc[ok, column]
        if len(values) and values.notna().all() and values.nunique() == 1:
            value = values.iloc[0]
            constant[column[len(CONVENTION_PREFIX):]] = (
                value.item() if isinstance(value, (np.generic,)) else value)
        else:
            varying.append(column)
    others = [c for c in table.columns if c not in columns]
    out = table[others + varying].copy()
    out.attrs["conventions"] = constant
    return out, constant, varying


def finished_ids(out: str | Path, retry_failed: bool = False) -> set[str]:
    """Scenario ids with a row in ``out`` (only the successful ones with ``retry_failed``)."""
    frame = read_results(out)
    if frame.empty:
        return set()
    if retry_failed:
        frame = frame[frame["status"] == "ok"]
    return set(frame["scenario_id"])


FLUSH_ROWS = 500  # rows buffered before a parquet part is written ...
FLUSH_SECONDS = 10.0  # ... or seconds since the last part, whichever comes first


class _PartWriter:
    """Appends rows to ``OUT/parts/part-<seq>-<random>.parquet`` atomically.

    Finished chunks are buffered and written together once ``FLUSH_ROWS`` rows or
    ``FLUSH_SECONDS`` have accumulated (a part per small chunk would cost more than the
    scenarios themselves), and always at the end, on an error or an interrupt
    (``run_sweep`` flushes in ``finally``). A killed process loses at most the unflushed rows.
    """

    def __init__(self, out: Path, flush_rows: int = FLUSH_ROWS,
                 flush_seconds: float = FLUSH_SECONDS):
        self.folder = _parts_dir(out)
        self.folder.mkdir(parents=True, exist_ok=True)
        existing = [int(p.name.split("-")[1]) for p in self.folder.glob("part-*.parquet")]
        self.sequence = max(existing, default=-1) + 1
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.buffer: list[dict] = []
        self.last_flush = time.monotonic()

    def add(self, rows: list[dict]) -> None:
        self.buffer.extend(rows)
        if (len(self.buffer) >= self.flush_rows
                or time.monotonic() - self.last_flush >= self.flush_seconds):
            self.flush()

    def flush(self) -> Path | None:
        self.last_flush = time.monotonic()
        if not self.buffer:
            return None
        rows, self.buffer = self.buffer, []
        return self.write(rows)

    def write(self, rows: list[dict]) -> Path:
        frame = pd.DataFrame(rows)
        name = f"part-{self.sequence:06d}-{uuid.uuid4().hex[:8]}.parquet"
        self.sequence += 1
        temporary = self.folder / (name + ".tmp")
        frame.to_parquet(temporary, index=False)
        temporary.replace(self.folder / name)
        return self.folder / name


def _manifest(spec: SweepSpec, out: Path) -> None:
    path = out / "sweep.json"
    manifest = {
        "name": spec.name,
        "base_fingerprint": spec.base_fingerprint,
        "metrics": spec.metrics,
        "n_scenarios": len(spec.scenarios),
        "swept": spec.swept,
        "base": spec.base,
    }
    if path.exists():
        old = json.loads(path.read_text())
        if old.get("base_fingerprint") != spec.base_fingerprint or old.get("metrics") != (
            spec.metrics
        ):
            raise RunConfigError(
                f"{out}: holds results of a sweep with another base configuration or metrics; "
                "resume only the same sweep (or use another output folder)"
            )
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))


def _manifest_conventions(out: Path, constant: dict, varying: list[str]) -> None:
    """Add the sweep's conventions to ``OUT/sweep.json``: the shared ones, and the names of
    the ``convention_*`` columns of those that vary."""
    path = out / "sweep.json"
    manifest = json.loads(path.read_text()) if path.exists() else {}
    manifest["conventions"] = constant
    manifest["conventions_varying"] = varying
    temporary = out / "sweep.json.tmp"
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
    temporary.replace(path)


# ------------------------------------------------------------------ backends


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _progress(total: int, name: str, enabled: bool):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is installed with the dev environment
        return None
    return tqdm(total=total, desc=name, unit="scenario", disable=not enabled, leave=True)


def _inprocess(base, chunks, metrics, on_chunk, workers, client, scheduler):
    """In this process: one chunk after another, or ``workers`` threads. The day loop releases
    the GIL, so threads simulate in parallel while sharing the market arrays (built once per
    process) and nothing is pickled; the Python set-up and metrics of each run take the GIL."""
    if workers <= 1:
        for chunk in chunks:
            on_chunk(run_chunk(base, chunk, metrics))
        return
    from concurrent.futures import ThreadPoolExecutor, as_completed

    if chunks:  # compile or load the kernels and build the market once, not in every thread
        first, rest = chunks[0], chunks[1:]
        on_chunk(run_chunk(base, first[:1], metrics))
        if first[1:]:
            rest = [first[1:], *rest]
        chunks = rest
    with ThreadPoolExecutor(max_workers=workers) as executor:
        _collect([executor.submit(run_chunk, base, chunk, metrics) for chunk in chunks],
                 as_completed, on_chunk)


def _collect(futures, as_completed, on_chunk) -> None:
    """Hand each finished chunk to ``on_chunk``; on any error cancel the rest."""
    try:
        for future in as_completed(futures):
            on_chunk(future.result())
    except BaseException:
        for future in futures:
            future.cancel()
        raise


def _process_pool(base, chunks, metrics, on_chunk, workers, client, scheduler):
    from concurrent.futures import ProcessPoolExecutor, as_completed

    executor = ProcessPoolExecutor(max_workers=max(1, workers))
    try:
        futures = [executor.submit(run_chunk, base, chunk, metrics) for chunk in chunks]
        for future in as_completed(futures):
            on_chunk(future.result())
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)


def _dask(base, chunks, metrics, on_chunk, workers, client, scheduler):
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise RunConfigError(
            "the dask backend needs dask.distributed: pip install 'taxsim[distributed]'"
        ) from None
    own = None
    if client is None:
        if scheduler is None:
            raise RunConfigError("the dask backend needs a client or a scheduler address")
        try:
            own = client = Client(scheduler, timeout="10s")
        except OSError as error:
            raise RunConfigError(f"cannot reach the dask scheduler {scheduler}: {error}") from None
    try:
        _collect([client.submit(run_chunk, base, chunk, metrics, pure=False)
                  for chunk in chunks], as_completed, on_chunk)
    finally:
        if own is not None:
            own.close()


_RUNNERS: dict[str, Callable] = {
    "inprocess": _inprocess,
    "process": _process_pool,
    "dask": _dask,
}


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    *,
    backend: str | None = None,
    workers: int = 1,
    client: Any = None,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    progress: bool = True,
    retry_failed: bool = False,
    only: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Run the scenarios of ``spec`` not yet in ``out``; return the tidy table of all of them.

    Parameters
    ----------
    backend : {"inprocess", "process", "dask"}, optional
        Default: "dask" with a ``client`` or ``scheduler``, else "inprocess" (sequential, or
        ``workers`` threads sharing the market: the compiled day loop releases the GIL).
    workers : int
        Threads of the in-process backend, or the process-pool size (1 with dask: the
        cluster's workers run the scenarios; another number is an error).
    client, scheduler : dask ``Client`` or scheduler address (``"tcp://host:8786"``).
        Only with the dask backend (the default when given; another backend is an error).
    chunk_size : int, optional
        Scenarios per task and per parquet part (default ``spec.chunk_size``).
    retry_failed : bool
        Run again the scenarios recorded as errors.
    only : iterable of scenario ids, optional
        Run only these (of those not finished); the table still covers the finished ones.
    """
    out = Path(out)
    if backend is None:
        backend = "dask" if (client is not None or scheduler) else "inprocess"
    if backend not in _RUNNERS:
        raise RunConfigError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise RunConfigError(f"workers must be an integer >= 1, got {workers!r}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(
            chunk_size, int) or chunk_size < 1):
        raise RunConfigError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    if backend != "dask" and (client is not None or scheduler):
        raise RunConfigError(
            f"backend {backend!r} with a dask {'client' if client is not None else 'scheduler'}"
            ": the scenarios would not run on dask; leave backend out (or give 'dask')")
    if backend == "dask" and workers != 1:
        raise RunConfigError(
            f"workers = {workers} with the dask backend: dask runs the scenarios on its own "
            "workers; workers sets threads (inprocess) or processes (process)")
    _manifest(spec, out)
    done = finished_ids(out, retry_failed)
    todo = [s for s in spec.scenarios if s.id not in done]
    if only is not None:
        wanted = set(only)
        todo = [s for s in todo if s.id in wanted]
    chunks = _chunks([(s.id, s.parameters) for s in todo], chunk_size or spec.chunk_size)
    writer = _PartWriter(out)
    bar = _progress(len(todo), spec.name, progress)
    failures = 0

    def on_chunk(rows: list[dict]) -> None:
        nonlocal failures
        writer.add(rows)
        failures += sum(row["status"] != "ok" for row in rows)
        if bar is not None:
            bar.update(len(rows))
            if failures:
                bar.set_postfix(failed=failures)

    try:
        if chunks:
            _RUNNERS[backend](spec.base, chunks, spec.metrics, on_chunk, workers, client,
                              scheduler)
    finally:
        writer.flush()
        if bar is not None:
            bar.close()
    table, constant, varying = split_conventions(
        read_results(out, [s.id for s in spec.scenarios]))
    temporary = out / "results.parquet.tmp"
    table.to_parquet(temporary, index=False)  # pandas keeps attrs["conventions"] in parquet
    temporary.replace(out / "results.parquet")
    _manifest_conventions(out, constant, varying)
    return table
