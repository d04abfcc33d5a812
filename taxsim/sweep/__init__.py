"""Parameter sweeps: many runs of one base configuration, as a tidy table of metrics.

    from taxsim.sweep import load_spec, run_sweep
    spec = load_spec("examples/sweep.toml")
    table = run_sweep(spec, "results/sweep", workers=2)          # 2 threads in this process
    table = run_sweep(spec, "results/sweep", backend="process", workers=2)  # process pool
    table = run_sweep(spec, "results/sweep", client=dask_client)  # dask.distributed

See :mod:`taxsim.sweep.spec` for the TOML form and :mod:`taxsim.sweep.runner` for the backends.
"""

from taxsim.sweep.runner import (
    BACKENDS,
    finished_ids,
    read_results,
    result_metrics,
    run_chunk,
    run_scenario,
    run_sweep,
    split_conventions,
)
from taxsim.sweep.spec import (
    Scenario,
    SweepSpec,
    build_scenarios,
    load_spec,
    scenario_id,
    spec_from_dict,
    validate_scenarios,
)

__all__ = [
    "BACKENDS",
    "Scenario",
    "SweepSpec",
    "build_scenarios",
    "finished_ids",
    "load_spec",
    "read_results",
    "result_metrics",
    "run_chunk",
    "run_scenario",
    "run_sweep",
    "scenario_id",
    "spec_from_dict",
    "split_conventions",
    "validate_scenarios",
]
