"""Sweeps: a sweep equals its single runs, resumes after an interruption, records failures,
and gives the same table on every backend."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from taxsim.config import apply_overrides, config_from_dict, run_config
from taxsim.sweep import (
    build_scenarios,
    load_spec,
    read_results,
    result_metrics,
    run_sweep,
    scenario_id,
    spec_from_dict,
)
from tests.test_config import REPO, TINY

SUMMARY_COLUMNS = ["end_value", "tax_paid_from_portfolio", "liquidation_value", "costs"]


def _spec(product=None, explicit=None, metrics="summary", chunk_size=16, base=TINY):
    data = {"sweep": {"name": "test", "metrics": metrics, "chunk_size": chunk_size},
            "base": base, "product": product or {}}
    if explicit:
        data["list"] = explicit
    return spec_from_dict(data)


def test_scenario_ids_are_stable_hashes_of_the_parameters():
    a = scenario_id({"x": 1, "y": "b"})
    assert a == scenario_id({"y": "b", "x": 1}) and len(a) == 12
    assert a != scenario_id({"x": 2, "y": "b"})
    # a whole float configures what its int does (the duplicate check agrees): one id
    assert scenario_id({"x": 1.0, "y": "b"}) == a
    assert scenario_id({"w": {"x": [1.0, 2.5]}}) == scenario_id({"w": {"x": [1, 2.5]}})
    assert scenario_id({"x": 1.5, "y": "b"}) != scenario_id({"x": 1, "y": "b"})
    assert scenario_id({"x": True, "y": "b"}) != a
    scenarios = build_scenarios({"a": [1, 2], "b": {"start": 0, "stop": 3}}.copy() and
                                {"a": [1, 2], "b": [0, 1, 2]}, [{"c": 1}, {"c": 2}])
    assert len(scenarios) == 12 and len({s.id for s in scenarios}) == 12


def test_example_sweep_toml_is_valid():
    spec = load_spec(REPO / "examples" / "sweep.toml")
    assert len(spec.scenarios) == 18
    assert "strategy.params.frequency" in spec.swept and "market.seed" in spec.swept


def test_sweep_of_200_scenarios_equals_200_single_runs(tmp_path):
    product = {
        "strategy.params.frequency": ["monthly", "quarterly"],
        "costs.cost_bps": [0, 1, 2, 3, 5, 8, 10, 15, 20, 30],
        "tax.ordinary": [0.10, 0.12, 0.22, 0.24, 0.32, 0.35, 0.37, 0.40, 0.45, 0.5],
    }
    spec = _spec(product, chunk_size=25)
    assert len(spec.scenarios) == 200
    table = run_sweep(spec, tmp_path / "sweep", progress=False)
    assert len(table) == 200 and (table["status"] == "ok").all()
    assert list(table["scenario_id"]) == [s.id for s in spec.scenarios]
    for scenario, (_, row) in zip(spec.scenarios, table.iterrows(), strict=True):
        single = result_metrics(run_config(spec.config(scenario)), "summary")
        for column in SUMMARY_COLUMNS:
            assert row[column] == single[column], (scenario.parameters, column)
        for key, value in scenario.parameters.items():
            assert row[key] == value
    saved = pd.read_parquet(tmp_path / "sweep" / "results.parquet")
    pd.testing.assert_frame_equal(saved, table)


def test_summarize_metrics_with_twins_on_a_process_pool_and_threads_equal_in_process(tmp_path):
    base = apply_overrides(TINY, {"run.twins": True,
                                  "strategy.params.lot_method": "tax_optimal"})
    spec = _spec({"market.seed": [1, 2], "strategy.params.frequency": ["monthly", "quarterly"]},
                 metrics="summarize", chunk_size=1, base=base)
    local = run_sweep(spec, tmp_path / "local", progress=False)
    pool = run_sweep(spec, tmp_path / "pool", backend="process", workers=2, progress=False)
    threads = run_sweep(spec, tmp_path / "threads", workers=2, progress=False)
    assert (local["status"] == "ok").all(), local["error"].tolist()
    pd.testing.assert_frame_equal(local.drop(columns="elapsed_s"),
                                  threads.drop(columns="elapsed_s"))
    assert "tax_alpha_post_liquidation" in local.columns
    pd.testing.assert_frame_equal(local.drop(columns="elapsed_s"), pool.drop(columns="elapsed_s"))
    first = spec.scenarios[0]
    single = result_metrics(run_config(spec.config(first)), "summarize")
    assert local.iloc[0]["after_tax_return_post_liquidation"] == single[
        "after_tax_return_post_liquidation"]


def test_the_fast_summary_carries_the_tax_alphas_of_summarize(tmp_path):
    base = apply_overrides(TINY, {"run.twins": True, "run.daily_liquidation": False,
                                  "strategy.params.lot_method": "tax_optimal"})
    product = {"market.seed": [1, 2], "strategy.params.frequency": ["monthly", "quarterly"]}
    fast = run_sweep(_spec(product, metrics="summary", base=base), tmp_path / "fast",
                     progress=False)
    full = run_sweep(_spec(product, metrics="summarize", base=base), tmp_path / "full",
                     progress=False)
    assert (fast["status"] == "ok").all() and (full["status"] == "ok").all()
    for column in ("pre_tax_return", "after_tax_return_pre_liquidation",
                   "after_tax_return_post_liquidation", "tax_alpha_pre_liquidation",
                   "tax_alpha_post_liquidation"):
        assert fast[column].tolist() == pytest.approx(full[column].tolist(), rel=1e-12,
                                                      abs=1e-15), column
    assert (fast["tax_alpha_post_liquidation"] != 0.0).any()
    assert "end_value" in fast.columns and "tracking_error" not in fast.columns


def test_a_failing_scenario_is_recorded_and_the_sweep_goes_on(tmp_path):
    # every scenario's config is valid (the spec checks them all when it loads); the second
    # fails while running: its withdrawal is larger than the account
    base = apply_overrides(TINY, {"flows": [
        {"date": "2006-03-01", "account": "taxable", "amount": 1000.0}]})
    spec = _spec({"flows.0.amount": [1000.0, -1e9, 2000.0], "market.years": [1.0]},
                 chunk_size=2, base=base)
    table = run_sweep(spec, tmp_path / "s", progress=False)
    assert list(table["status"]) == ["ok", "error", "ok"]
    assert table.iloc[1]["error"].startswith("SimulationError: ")
    assert "withdrawal of $1,000,000,000.00 from account 'taxable'" in table.iloc[1]["error"]
    assert table.iloc[0]["end_value"] > 0 and pd.isna(table.iloc[1]["end_value"])
    # a resume skips recorded failures unless asked to retry them: it writes no new part
    parts = sorted((tmp_path / "s" / "parts").glob("*.parquet"))
    assert parts  # rows are buffered and written together (see _PartWriter)
    again = run_sweep(spec, tmp_path / "s", progress=False)
    assert sorted((tmp_path / "s" / "parts").glob("*.parquet")) == parts
    pd.testing.assert_frame_equal(again, table)


def test_part_writer_buffers_rows_and_flushes_by_count_time_and_on_demand(tmp_path):
    from taxsim.sweep.runner import _PartWriter

    writer = _PartWriter(tmp_path, flush_rows=3, flush_seconds=3600.0)
    writer.add([{"scenario_id": "a"}, {"scenario_id": "b"}])
    assert not list((tmp_path / "parts").glob("*.parquet"))
    writer.add([{"scenario_id": "c"}])  # three rows: written
    assert len(list((tmp_path / "parts").glob("*.parquet"))) == 1
    writer.add([{"scenario_id": "d"}])
    writer.flush()  # what run_sweep does at the end, on an error or an interrupt
    assert sorted(read_results(tmp_path)["scenario_id"]) == ["a", "b", "c", "d"]
    timed = _PartWriter(tmp_path, flush_rows=1000, flush_seconds=0.0)
    timed.add([{"scenario_id": "e"}])  # the time limit has passed: written at once
    assert "e" in set(read_results(tmp_path)["scenario_id"])
    assert timed.flush() is None  # nothing left


# A strategy factory that interrupts the sweep once (as Ctrl-C would) at a chosen scenario.
_ARMED = {"interrupt": False}
_CALLS: list[int] = []


def interrupting(index: int = 0, stop_at: int = -1, frequency: str = "monthly"):
    from strategies import calendar_rebalance

    _CALLS.append(index)
    if _ARMED["interrupt"] and index == stop_at:
        _ARMED["interrupt"] = False
        raise KeyboardInterrupt
    return calendar_rebalance(frequency)


def test_resume_after_an_interruption_runs_only_the_missing_scenarios(tmp_path):
    base = apply_overrides(TINY, {"strategy.name": "tests.test_sweep:interrupting",
                                  "strategy.params": {"stop_at": 5}})
    spec = _spec({"strategy.params.index": list(range(8))}, chunk_size=2, base=base)
    out = tmp_path / "resume"
    _ARMED["interrupt"] = True
    _CALLS.clear()
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, out, progress=False)
    assert _CALLS == [0, 1, 2, 3, 4, 5]
    done = read_results(out)
    assert set(done["scenario_id"]) == {s.id for s in spec.scenarios[:4]}  # chunks 0 and 1
    before = {p.name for p in (out / "parts").glob("*.parquet")}
    _CALLS.clear()
    table = run_sweep(spec, out, progress=False)
    assert _CALLS == [4, 5, 6, 7]  # only the missing ones ran
    assert list(table["scenario_id"]) == [s.id for s in spec.scenarios]
    assert (table["status"] == "ok").all()
    assert before <= {p.name for p in (out / "parts").glob("*.parquet")}
    single = run_config(spec.config(spec.scenarios[6])).summary()["end_value"]
    assert table.iloc[6]["end_value"] == single


def test_resume_refuses_a_folder_of_another_sweep(tmp_path):
    from taxsim.config import RunConfigError

    run_sweep(_spec({"costs.cost_bps": [1]}), tmp_path / "s", progress=False)
    other = _spec({"costs.cost_bps": [1]}, base=apply_overrides(TINY, {"market.seed": 9}))
    with pytest.raises(RunConfigError, match="another base configuration"):
        run_sweep(other, tmp_path / "s", progress=False)
    manifest = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert manifest["n_scenarios"] == 1


def test_dask_local_cluster_equals_in_process(tmp_path):
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is not installed (pip install "
        "'taxsim[distributed]'); the dask backend is untested here")
    spec = _spec({"market.seed": [1, 2], "costs.cost_bps": [0, 5, 10]}, chunk_size=2)
    local = run_sweep(spec, tmp_path / "local", progress=False)
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as c, \
            distributed.Client(c) as client:
        remote = run_sweep(spec, tmp_path / "dask", client=client, progress=False)
    pd.testing.assert_frame_equal(local.drop(columns="elapsed_s"),
                                  remote.drop(columns="elapsed_s"))


def test_config_of_a_scenario_validates_its_overrides():
    spec = _spec({"tax.ordinary": [0.2]})
    assert spec.config(spec.scenarios[0]).tax.ordinary == 0.2
    assert config_from_dict(spec.base).tax.ordinary == 0.37


def test_twin_cache_reuses_a_shared_twin_and_matches_fresh_runs():
    from taxsim.engine.run import TwinCache

    base = apply_overrides(TINY, {
        "run.twins": True,
        "household.accounts": [{"name": "taxable", "cash": 100_000.0},
                               {"name": "ira", "kind": "tax_deferred", "cash": 50_000.0}],
        "targets": {"taxable": {"USTOTAL": 0.6, "BOND": 0.4}, "ira": {"BOND": 1.0}},
        "strategy": {"name": "loss_harvest", "params": {
            "substitutes": [["USTOTAL", "USLARGE"]], "rebalance": "quarterly"}},
    })
    cache = TwinCache(max_entries=4)
    configs = [apply_overrides(base, {"strategy.params.threshold": threshold,
                                      "costs.cost_bps": cost})
               for threshold, cost in [(0.02, 0.0), (0.08, 0.0), (0.02, 5.0)]]
    cached = [run_config(config, twin_cache=cache) for config in configs]
    fresh = [run_config(config) for config in configs]
    # the harvest threshold does not change the non-managed twin (calendar rebalancing): one
    # run serves both; a different cost does
    assert cached[0].twins["non_managed"] is cached[1].twins["non_managed"]
    assert cached[2].twins["non_managed"] is not cached[0].twins["non_managed"]
    assert cached[0].twins["pre_tax"] is not cached[1].twins["pre_tax"]
    assert (cache.hits, cache.misses) == (1, 5)
    for with_cache, without in zip(cached, fresh, strict=True):
        for name in ("non_managed", "pre_tax"):
            assert with_cache.twins[name].summary() == without.twins[name].summary()
            pd.testing.assert_frame_equal(with_cache.twins[name].daily(),
                                          without.twins[name].daily())
        assert result_metrics(with_cache, "summarize") == result_metrics(without, "summarize")
    cache.clear()
    assert run_config(configs[0], twin_cache=cache).twins["non_managed"].summary() == (
        fresh[0].twins["non_managed"].summary())


def test_a_config_error_of_a_hand_built_spec_is_recorded_as_a_failed_row(tmp_path):
    """``spec_from_dict`` refuses bad scenarios up front; a SweepSpec built by hand skips that
    check, and the runner still records the scenario's config error and goes on."""
    from taxsim.sweep import SweepSpec

    spec = SweepSpec(base=TINY, scenarios=build_scenarios({"tax.ordinary": [0.3, 1.5, 0.4]}))
    table = run_sweep(spec, tmp_path / "s", progress=False)
    assert list(table["status"]) == ["ok", "error", "ok"]
    assert table.iloc[1]["error"].startswith("RunConfigError: ")
    assert "tax.ordinary: Input should be less than 1" in table.iloc[1]["error"]


@pytest.mark.parametrize(
    ("product", "explicit", "expected"),
    [
        ({"tax.ordnary": [0.3, 0.4]}, None, "tax.ordnary: unknown field"),
        ({"costs.cost_bps": [0, 1]}, [{"tax.ordinary": 0.3}, {"tax.ordnary": 0.2}],
         "tax.ordnary: unknown field"),
        ({"tax.ordinary": [0.3, 1.5]}, None, "tax.ordinary: Input should be less than 1"),
        ({"market.seed": ["7"]}, None, "market.seed: Input should be a valid integer"),
        ({"strategy.params.frequenzy": ["monthly"]}, None, "unknown parameter(s) ['frequenzy']"),
    ],
)
def test_every_scenario_is_validated_when_the_spec_loads(product, explicit, expected):
    from taxsim.config import RunConfigError

    with pytest.raises(RunConfigError) as info:
        _spec(product, explicit)
    message = str(info.value)
    assert expected in message
    assert message.startswith("sweep: scenario ") and "\n" not in message
    # the scenario is named by its overrides
    bad_key = expected.split(":")[0] if "unknown parameter" not in expected else (
        "strategy.params.frequenzy")
    assert f"{bad_key} = " in message


def test_tickers_the_market_lacks_fail_at_load_even_when_the_config_names_none(monkeypatch):
    """A market config without ``tickers`` used to pass the load; every scenario then failed
    in turn on the same unknown ticker. One market is built per distinct market config (seed
    and path aside) and every scenario is checked against its tickers."""
    import taxsim.sweep.spec as spec_module
    from taxsim.config import RunConfigError

    built = []
    real_build = spec_module.build_market
    monkeypatch.setattr(spec_module, "build_market",
                        lambda config: built.append(config) or real_build(config))
    spec = _spec({"market.seed": [1, 2, 3], "costs.cost_bps": [0, 5]})
    assert len(spec.scenarios) == 6 and len(built) == 1  # seeds share the tickers
    with pytest.raises(RunConfigError) as info:
        _spec({"market.seed": [1, 2], "targets.taxable": [{"USTOTAL": 0.6, "BOND": 0.4},
                                                          {"USTOTAL": 0.6, "BONDS": 0.4}]})
    message = str(info.value)
    assert message.startswith("sweep: scenario 2 of 4") and "\n" not in message
    assert "targets.taxable: ticker(s) ['BONDS'] not in the market" in message
    with pytest.raises(RunConfigError, match=r"the base alone\): household.identity_groups: "
                                             r"ticker\(s\) \['FOO'\] not in the market"):
        _spec(base=apply_overrides(TINY, {"household.identity_groups": {"FOO": "g"}}))


def test_a_typo_in_a_toml_list_row_fails_at_load(tmp_path):
    from taxsim.config import RunConfigError

    spec = tmp_path / "typo.toml"
    spec.write_text(f'[sweep]\nbase = "{REPO / "examples" / "run.toml"}"\n'
                    '[product]\n"market.seed" = [0, 1]\n'
                    '[[list]]\n"tax.ordinary" = 0.37\n[[list]]\n"tax.ordnary" = 0.24\n')
    with pytest.raises(RunConfigError, match=r"scenario 3 of 4 .*tax\.ordnary: unknown field"):
        load_spec(spec)


def test_sweep_table_states_its_conventions(tmp_path):
    """Conventions every scenario shares are stated once (the table's attrs, kept in
    results.parquet, and sweep.json); those that vary across scenarios are columns."""
    spec = _spec({"tax.loss_convention": ["standalone", "offset"], "costs.cost_bps": [0, 2]})
    table = run_sweep(spec, tmp_path / "s", progress=False)
    assert (table["status"] == "ok").all()
    conventions = table.attrs["conventions"]
    assert conventions["tax_payment"] == "paid from the portfolio (taxable)"
    assert conventions["lot_method"] == "fifo"
    assert conventions["period"].startswith("2006-01-03 .. ")
    assert "loss_convention" not in conventions and "costs" not in conventions
    assert list(table["convention_loss_convention"]) == [
        s.parameters["tax.loss_convention"] for s in spec.scenarios]
    assert table["convention_costs"].nunique() == 2
    assert "convention_tax_payment" not in table.columns
    single = run_config(spec.config(spec.scenarios[0])).summary()
    assert conventions["tax_profile"] == single["convention_tax_profile"]
    saved = pd.read_parquet(tmp_path / "s" / "results.parquet")
    assert saved.attrs["conventions"] == conventions
    pd.testing.assert_frame_equal(saved, table)
    manifest = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert manifest["conventions"] == conventions
    assert sorted(manifest["conventions_varying"]) == ["convention_costs",
                                                      "convention_loss_convention"]
    # a resumed sweep (nothing left to run) states the same
    again = run_sweep(spec, tmp_path / "s", progress=False)
    assert again.attrs["conventions"] == conventions
    pd.testing.assert_frame_equal(again, table)


@pytest.mark.parametrize(
    ("product", "explicit", "expected"),
    [
        ({"costs.cost_bps": [0, 5, 0]}, None,
         "sweep: product: costs.cost_bps: 0 is given twice (as 0 and 0)"),
        ({"costs.cost_bps": [0, 0.0]}, None,
         "sweep: product: costs.cost_bps: 0.0 is given twice (as 0 and 0.0)"),
        ({"strategy.params.substitutes": [[["A", 1]], [["A", 1.0]]]}, None,
         "sweep: product: strategy.params.substitutes: [['A', 1.0]] is given twice"),
        (None, [{"tax.ordinary": 0.3}, {"tax.ordinary": 0.3}],
         "sweep: list[2]: the same overrides as list[1] (tax.ordinary = 0.3)"),
        ({"tax.ordinary": [0.2, 0.3]}, [{"tax.ordinary": 0.4}],
         "sweep: list[1]: tax.ordinary: also swept in product"),
        ({"strategy.params": [{"frequency": "monthly"}],
          "strategy.params.frequency": ["quarterly"]}, None,
         "sweep: strategy.params: swept together with strategy.params.frequency"),
        ({"costs.cost_bps": {"start": 0, "stop": 0}}, None,
         "sweep: product: costs.cost_bps: empty range (start 0, stop 0, step 1"),
        ({"costs.cost_bps": {"start": 0, "stop": 5, "step": -1}}, None,
         "sweep: product: costs.cost_bps: empty range (start 0, stop 5, step -1"),
        ({"costs.cost_bps": {"start": 0, "stop": float("inf")}}, None,
         "product.costs.cost_bps._Range.stop.float: Input should be a finite number"),
        ({"costs.cost_bps": {"start": 0, "stop": float("nan")}}, None,
         "product.costs.cost_bps._Range.stop.float: Input should be a finite number"),
        ({"market.seed": {"start": 0, "stop": 10**9}}, None,
         "sweep: product: market.seed: range of 1,000,000,000 values (at most 1,000,000)"),
        ({"household.accounts.taxable.cash": [1.0]}, None,
         "override 'household.accounts.taxable.cash': 'taxable' is not a list index"),
        ({"household.accounts.3": [{"name": "x"}]}, None,
         "override 'household.accounts.3': no item 3 in the list (1 item(s))"),
    ],
)
def test_values_that_would_be_dropped_overridden_or_never_end_are_refused(product, explicit,
                                                                           expected):
    """A repeated value, a key swept in two places, an empty or endless range and a bad list
    index were silently dropped, overridden, hung or raised a bare ValueError/IndexError."""
    from taxsim.config import RunConfigError

    with pytest.raises(RunConfigError) as info:
        _spec(product, explicit)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_float_ranges_are_exact_decimal_steps():
    spec = _spec({"tax.ordinary": {"start": 0.1, "stop": 0.4, "step": 0.1},
                  "market.seed": {"start": 3, "stop": 0, "step": -2}})
    assert [s.parameters["tax.ordinary"] for s in spec.scenarios] == [0.1, 0.1, 0.2, 0.2,
                                                                      0.3, 0.3]
    assert [s.parameters["market.seed"] for s in spec.scenarios][:2] == [3, 1]
    assert all(type(s.parameters["market.seed"]) is int for s in spec.scenarios)


def test_swept_dates_given_as_toml_dates_and_strings_are_written_as_iso_strings(tmp_path):
    """A column of TOML dates and date strings failed to be written (ArrowTypeError) after
    every scenario had run, and the sweep lost its rows."""
    import datetime

    spec = _spec({"market.start": [datetime.date(2006, 1, 3), "2007-01-03"]})
    table = run_sweep(spec, tmp_path / "s", progress=False)
    assert list(table["status"]) == ["ok", "ok"]
    assert list(table["market.start"]) == ["2006-01-03", "2007-01-03"]
    assert list(table["convention_period"].str[:10]) == ["2006-01-03", "2007-01-03"]
    saved = pd.read_parquet(tmp_path / "s" / "results.parquet")
    assert list(saved["market.start"]) == ["2006-01-03", "2007-01-03"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"backend": "process", "scheduler": "tcp://127.0.0.1:9"},
         "backend 'process' with a dask scheduler: the scenarios would not run on dask"),
        ({"backend": "inprocess", "client": object()},
         "backend 'inprocess' with a dask client"),
        ({"scheduler": "tcp://127.0.0.1:9", "workers": 4},
         "workers = 4 with the dask backend"),
        ({"workers": 0}, "workers must be an integer >= 1, got 0"),
        ({"chunk_size": 0}, "chunk_size must be an integer >= 1, got 0"),
    ],
)
def test_run_sweep_refuses_options_its_backend_would_ignore(tmp_path, options, expected):
    from taxsim.config import RunConfigError

    with pytest.raises(RunConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        run_sweep(_spec({"costs.cost_bps": [1]}), tmp_path / "s", progress=False, **options)
    assert not (tmp_path / "s").exists()  # nothing written


def test_a_missing_base_file_names_sweep_base(tmp_path):
    from taxsim.config import RunConfigError

    path = tmp_path / "spec.toml"
    path.write_text('[sweep]\nbase = "nothere.toml"\n[product]\n"costs.cost_bps" = [0]\n')
    with pytest.raises(RunConfigError) as info:
        load_spec(path)
    assert str(info.value) == f"{path}: sweep.base: {tmp_path / 'nothere.toml'}: no such file"
