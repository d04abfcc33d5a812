"""The peer benchmark runs the same job on every tool (same final value, same tax), and its
table marks every missed target."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.__main__ import check, table
from benchmarks.cases import case_a, case_b


@pytest.mark.shared_data
def test_taxsim_vectorbt_and_bt_reach_the_same_final_value(shared_data_dir, monkeypatch):
    pytest.importorskip("vectorbt", reason="the peers come with the test extra")
    pytest.importorskip("bt", reason="the peers come with the test extra")
    monkeypatch.setenv("TAXSIM_SHARED_DATA", str(shared_data_dir))
    values = {tool: case_a("a10", tool)[1]() for tool in ("taxsim", "vectorbt", "bt")}
    assert values["taxsim"] > 2_000_000.0  # $1M grew: a real run, not an empty one
    for tool in ("vectorbt", "bt"):
        assert values[tool] == pytest.approx(values["taxsim"], rel=1e-9), tool


@pytest.mark.shared_data
def test_harvesting_run_and_reference_replay_owe_the_same_tax(shared_data_dir, monkeypatch):
    monkeypatch.setenv("TAXSIM_SHARED_DATA", str(shared_data_dir))
    taxsim_tax = case_b("taxsim")[1]()
    reference_tax = case_b("reference")[1]()
    assert taxsim_tax > 10_000.0
    assert reference_tax == pytest.approx(taxsim_tax, rel=1e-9)


def row(case, tool, run_s, value, **extra):
    return {"case": case, "tool": tool, "run_s": run_s, "value": value, "runs": 3,
            "peak_rss_mib": 300.0, "setup_rss_mib": 200.0, **extra}


def test_checks_mark_missed_targets_and_different_values():
    rows = [
        row("a10", "taxsim", 0.030, 100.0),
        row("a10", "vectorbt", 0.010, 100.0),  # taxsim 3x slower than vectorbt: missed
        row("a10", "bt", 2.0, 100.5),  # a different job: the value check fails
        row("b", "taxsim", 0.01, 5.0),
        row("b", "reference", 2.0, 5.0),  # 200x: met
        row("c", "taxsim", 4.0, 1.0),  # 4 s against 1 s: missed
        row("d", "taxsim", 1.0, 20.0, scenarios_per_s=20.0),
        {"case": "a25", "tool": "bt", "error": "bt is not installed"},
    ]
    checks = {(c["case"], c["check"]): c["met"] for c in check(rows)}
    assert checks[("a10", "same final value (relative 1e-06)")] is False
    assert checks[("a10", "taxsim <= 1.5x vectorbt's time")] is False
    assert checks[("a10", "taxsim >= 50x faster than bt")] is True
    assert checks[("b", "same total tax (relative 1e-06)")] is True
    assert checks[("b", "taxsim >= 100x faster than the plain-Python reference")] is True
    assert checks[("c", "< 1 s per run")] is False
    assert checks[("d", ">= 500 scenarios/s")] is False
    markdown = table(rows, check(rows))
    assert markdown.count("**no**") == 4
    assert "bt is not installed" in markdown
    assert "20.0 scenarios/s" in markdown


def test_ledger_benchmark_scales_its_years_and_refuses_a_mix_without_sales():
    """A small ``--events`` keeps trades in the mix (its years scale down) instead of timing
    dividends alone; an explicit span that leaves no sales is refused by name."""
    from benchmarks.ledger import benchmark_events
    from taxsim.ledger.replay import EVENT_BUY, EVENT_SELL

    kind = benchmark_events(20_000)[0]
    assert np.sum(kind == EVENT_SELL) > 2_000 and np.sum(kind == EVENT_BUY) > 2_000
    with pytest.raises(SystemExit, match="--events 20000 over 20 years leaves no sales"):
        benchmark_events(20_000, years=20)
    with pytest.raises(SystemExit, match="--years 0: the events need at least one year"):
        benchmark_events(20_000, years=0)


def test_ledger_benchmark_one_account_variant_replays_the_same_trades_in_one_account():
    """``--one-account-repeats``: the same trades and dividends, every trade in one taxable
    account with each ticker its own identity group; every sale is replayed (no sale of
    shares not held) and its washed pieces split more than in the main mix."""
    from benchmarks.ledger import benchmark_events, one_account_events, run
    from taxsim.ledger.enums import CNT_NEXT_LOT_ID, CNT_NEXT_SALE_ID, CNT_SALE_ROWS

    events = benchmark_events(20_000)
    one_account = one_account_events(events)
    assert np.all(one_account[2] == 0) and np.any(events[2] != 0)
    for column, (original, moved) in enumerate(zip(events, one_account, strict=True)):
        if column != 2:
            assert np.array_equal(original, moved)
    _, main_state, _ = run(events)
    _, one_state, _ = run(one_account, (0,), rows_per_event=8)
    assert one_state.counters[CNT_NEXT_SALE_ID] == main_state.counters[CNT_NEXT_SALE_ID]
    assert len(one_state.account_kind) == 1
    assert np.array_equal(one_state.asset_group, np.arange(len(one_state.asset_group)))
    assert one_state.counters[CNT_SALE_ROWS] > main_state.counters[CNT_SALE_ROWS]
    assert one_state.counters[CNT_NEXT_LOT_ID] > main_state.counters[CNT_NEXT_LOT_ID]


@pytest.mark.parametrize("option, value", [("--repeats", "0"), ("--no-wash-repeats", "-1"),
                                           ("--one-account-repeats", "-2"),
                                           ("--ideal-repeats", "-1")])
def test_ledger_benchmark_refuses_a_count_of_repeats_below_its_least_by_name(option, value,
                                                                            capsys):
    """A count of replays below its least is refused by name before anything runs (it was
    taken as 1 or 0 before)."""
    from benchmarks.ledger import main

    with pytest.raises(SystemExit):
        main([option, value])
    assert f"{option} {value}: at least" in capsys.readouterr().err


def _ledger_totals(state):
    """The ledger's counts and sums that the idealized replay also keeps."""
    from taxsim.ledger.enums import CNT_NEXT_LOT_ID, CNT_SALE_ROWS

    rows = state.realized[: state.counters[CNT_SALE_ROWS]]
    return {
        "rows": int(state.counters[CNT_SALE_ROWS]),
        "lots": int(state.counters[CNT_NEXT_LOT_ID] - 1),  # the ledger's ids start at 1
        "disallowed": float(rows["wash_disallowed"].sum()),
        "lost": float(rows["wash_lost"].sum()),
        "gain": float((rows["proceeds"] - rows["basis"]).sum()),
    }


def test_idealized_replay_does_the_ledgers_work_in_both_households():
    """``benchmarks/ledger_ideal.py`` is a yardstick only if it does the mix's work: in the
    tax-deferred household (no wash sale) the same rows, lots and gains as the ledger; in the
    main household the same to within a few in ten thousand (a split-off piece goes after the
    lots bought the same day), with as many washed dollars."""
    from benchmarks.ledger import benchmark_events, run
    from benchmarks.ledger_ideal import (
        TOTAL_DISALLOWED,
        TOTAL_GAIN,
        TOTAL_LOST,
        TOTAL_LOTS_CREATED,
        TOTAL_ROWS,
        run_ideal,
    )

    events = benchmark_events(100_000)
    _, deferred_state, _ = run(events, (1, 1, 1))
    deferred = _ledger_totals(deferred_state)
    _, ideal = run_ideal(events, (False, False, False))
    assert ideal[TOTAL_ROWS] == deferred["rows"] > 50_000
    assert ideal[TOTAL_LOTS_CREATED] == deferred["lots"]
    assert ideal[TOTAL_DISALLOWED] == 0.0 and deferred["disallowed"] == 0.0
    assert ideal[TOTAL_GAIN] == pytest.approx(deferred["gain"], rel=1e-9)

    _, main_state, _ = run(events)
    main = _ledger_totals(main_state)
    _, ideal = run_ideal(events)
    assert main["disallowed"] > 1e6 and main["lost"] > 1e5  # wash sales, IRA ones too
    assert ideal[TOTAL_ROWS] == pytest.approx(main["rows"], rel=2e-3)
    assert ideal[TOTAL_LOTS_CREATED] == pytest.approx(main["lots"], rel=2e-3)
    assert ideal[TOTAL_DISALLOWED] == pytest.approx(main["disallowed"], rel=2e-3)
    assert ideal[TOTAL_LOST] == pytest.approx(main["lost"], rel=5e-3)
    assert ideal[TOTAL_GAIN] == pytest.approx(main["gain"], rel=5e-3)


def test_idealized_replay_runs_the_same_as_plain_python_and_jitted():
    """The kernel is a plain function, then jitted: both give the same totals, wash sales
    included."""
    from benchmarks.ledger import benchmark_events
    from benchmarks.ledger_ideal import TOTAL_DISALLOWED, TOTAL_LOST, TOTAL_ROWS, run_ideal

    events = benchmark_events(4_000)
    _, jitted = run_ideal(events)
    _, plain = run_ideal(events, jit=False)
    assert jitted[TOTAL_ROWS] > 500 and jitted[TOTAL_DISALLOWED] > jitted[TOTAL_LOST] > 0.0
    assert np.array_equal(jitted, plain)


def test_idealized_replay_refuses_a_lot_method_it_does_not_implement():
    from benchmarks.ledger import benchmark_events
    from benchmarks.ledger_ideal import run_ideal
    from taxsim.ledger.enums import FIFO
    from taxsim.ledger.replay import EVENT_SELL

    events = list(benchmark_events(4_000))
    events[6] = np.where(events[0] == EVENT_SELL, FIFO, events[6])
    with pytest.raises(ValueError, match=r"lot methods \[0\]: the idealized replay sells by "
                                         "HIFO and tax-optimal only"):
        run_ideal(tuple(events))


def test_idealized_replay_refuses_to_write_past_its_arrays():
    """Numba does not check bounds: a pool or row table too small is an error, not a write
    past the end."""
    from benchmarks.ledger import N_ASSETS
    from benchmarks.ledger_ideal import FIRST_BLOCK, default_gain_rates, ideal_replay_nb
    from taxsim.ledger.enums import HIFO
    from taxsim.ledger.replay import EVENT_BUY, EVENT_SELL

    # 20 buys of one asset in one account (its block must grow), then a sale of every lot
    n_buys = 20
    kind = np.array([EVENT_BUY] * n_buys + [EVENT_SELL])
    day = np.arange(len(kind)) + 20_000
    zeros = np.zeros(len(kind), np.int64)
    shares = np.array([10.0] * n_buys + [10.0 * n_buys])
    price = np.full(len(kind), 50.0)
    method = np.full(len(kind), HIFO)
    groups = np.arange(N_ASSETS) // 2
    offsets = np.arange(0, N_ASSETS + 2, 2)
    initial_blocks = 3 * N_ASSETS * FIRST_BLOCK

    def replay(lot_pool, row_capacity):
        return ideal_replay_nb(kind, day, zeros, zeros, shares, price, method, np.zeros(len(kind)),
                               N_ASSETS, np.array([True, True, False]), groups, offsets,
                               np.arange(N_ASSETS), *default_gain_rates(), lot_pool,
                               row_capacity)

    assert replay(initial_blocks + 2 * FIRST_BLOCK, n_buys)[0] == n_buys  # room enough
    with pytest.raises(ValueError, match="the idealized replay's lot pool is full"):
        replay(initial_blocks + 2 * FIRST_BLOCK - 1, n_buys)
    with pytest.raises(ValueError, match="the idealized replay's rows or scratch are full"):
        replay(initial_blocks + 2 * FIRST_BLOCK, n_buys - 1)
