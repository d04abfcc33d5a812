"""Sweep specifications: a base run configuration plus ``product`` and/or ``list`` of overrides.

TOML form (``examples/sweep.toml``)::

    [sweep]
    name = "threshold x seed"
    base = "run.toml"             # a run config file (relative to this file), or a [base] table
    metrics = "summarize"         # "summarize" (every metric) or "summary" (fast: totals,
                                  # returns and tax alphas, taxsim.metrics.headline)
    chunk_size = 8

    [product]                     # every combination (dotted paths into the run config)
    "strategy.params.frequency" = ["monthly", "quarterly"]
    "market.seed" = { start = 0, stop = 10 }     # a range (stop excluded, optional step)

    [[list]]                      # explicit scenarios, each combined with the product
    "tax.ordinary" = 0.37
    [[list]]
    "tax.ordinary" = 0.24
    "tax.long_term" = 0.15

Scenario ids are stable hashes of the swept parameters (not of their order in the file).
Every scenario's configuration (the base with its overrides) is validated when the spec is
loaded: a misspelled override key or a bad value is a one-line :class:`RunConfigError`
naming the scenario and the field, before anything runs.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from taxsim.config import (
    RunConfigError,
    apply_overrides,
    build_market,
    check_market_tickers,
    config_from_dict,
    format_validation_error,
    read_toml,
    stable_hash,
)


class _Range(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    start: int | float = 0
    stop: int | float
    step: int | float = 1


MAX_RANGE_VALUES = 1_000_000
"""The most values one ``{start, stop, step}`` range may expand to (a typo in ``stop`` or
``step`` should be an error, not a sweep that never starts)."""


class SweepOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = "sweep"
    base: str | None = None
    metrics: Literal["summarize", "summary"] = "summarize"
    chunk_size: int = Field(16, ge=1, le=100_000)


class _SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    sweep: SweepOptions = Field(default_factory=SweepOptions)
    base: dict[str, Any] | None = None
    product: dict[str, list[Any] | _Range] = Field(default_factory=dict)
    explicit: list[dict[str, Any]] = Field(default_factory=list, alias="list")

    @field_validator("product")
    @classmethod
    def _nonempty(cls, product):
        for key, values in product.items():
            if isinstance(values, list) and not values:
                raise ValueError(f"{key}: empty list of values")
        return product


def _expand(values, key: str = "product") -> list:
    """The values of one product entry: a list as given, or a range's values computed exactly
    in decimal (``{start = 0.1, stop = 0.4, step = 0.1}`` is 0.1, 0.2, 0.3, not
    0.30000000000000004). An empty range is an error naming ``key``."""
    if not isinstance(values, _Range):
        return list(values)
    if values.step == 0:
        raise RunConfigError(f"product: {key}: range step must not be 0")
    start, stop, step = (Decimal(repr(v)) for v in (values.start, values.stop, values.step))
    count = max(0, math.ceil((stop - start) / step))
    if count == 0:
        raise RunConfigError(
            f"product: {key}: empty range (start {values.start!r}, stop {values.stop!r}, step "
            f"{values.step!r}; stop is excluded)")
    if count > MAX_RANGE_VALUES:
        raise RunConfigError(f"product: {key}: range of {count:,} values (at most "
                             f"{MAX_RANGE_VALUES:,})")
    exact = all(isinstance(v, int) for v in (values.start, values.step))
    return [int(start + i * step) if exact else float(start + i * step) for i in range(count)]


def _id_value(value: Any) -> Any:
    """``value`` with every whole float as an int (lists and tables through), so that values
    configuring the same run hash alike: ``1`` and ``1.0`` do (as in :func:`_value_key`),
    ``True`` and ``1`` do not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _id_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_id_value(item) for item in value]
    return value


def _value_key(value) -> Any:
    """A hashable key under which two swept values that configure the same thing meet: 0 and
    0.0 do, inside lists and tables too (their JSON after :func:`_id_value`, as the scenario
    ids hash them); True and 1 do not."""
    if isinstance(value, (dict, list, tuple)):
        return ("json", json.dumps(_id_value(value), sort_keys=True, default=str))
    return (type(value) is bool, value)


def _check_duplicates(what: str, values: Sequence) -> None:
    """A value given twice would be one scenario run once: refuse it, naming it."""
    seen: dict = {}
    for value in values:
        key = _value_key(value)
        if key in seen:
            raise RunConfigError(f"{what}: {value!r} is given twice (as {seen[key]!r} and "
                                 f"{value!r}); each scenario must differ")
        seen[key] = value


def scenario_id(parameters: Mapping[str, Any]) -> str:
    """Stable id of one scenario: a hash of its swept parameters (12 hex digits); a whole
    float hashes as its int (``threshold = 1`` and ``threshold = 1.0`` are one scenario, so a
    resumed sweep finds it under either spelling)."""
    return stable_hash(_id_value(dict(parameters)), 12)


@dataclass(frozen=True)
class Scenario:
    id: str
    parameters: dict


@dataclass
class SweepSpec:
    """A base run configuration (raw dict) and its scenarios."""

    base: dict
    scenarios: list[Scenario]
    name: str = "sweep"
    metrics: str = "summarize"
    chunk_size: int = 16
    source: str = "sweep"
    swept: list[str] = field(default_factory=list)

    @property
    def base_fingerprint(self) -> str:
        return stable_hash(self.base)

    def config(self, scenario: Scenario):
        """The validated :class:`~taxsim.config.RunConfig` of a scenario."""
        return config_from_dict(apply_overrides(self.base, scenario.parameters),
                                f"{self.source} scenario {scenario.id}")


def build_scenarios(product: Mapping[str, Sequence] | None = None,
                    explicit: Sequence[Mapping[str, Any]] | None = None) -> list[Scenario]:
    """Scenarios = every ``explicit`` entry (or one empty entry) x the ``product`` grid.

    Nothing is dropped or overridden silently: a value given twice in a product list, two
    identical ``explicit`` entries, a key set by both an entry and the product, or a key inside
    another swept key (``strategy.params`` and ``strategy.params.threshold``) raise
    :class:`~taxsim.config.RunConfigError` naming the key.
    """
    product = dict(product or {})
    keys = list(product)
    expanded = {key: _expand(product[key], key) for key in keys}
    for key, values in expanded.items():
        if not isinstance(product[key], _Range):  # a range never repeats a value
            _check_duplicates(f"product: {key}", values)
    rows = [dict(row) for row in (explicit or [{}])]
    for number, row in enumerate(rows, 1):
        both = sorted(set(row) & set(keys))
        if both:
            raise RunConfigError(
                f"list[{number}]: {', '.join(both)}: also swept in product (the product would "
                "override this entry's value); give each key in one place")
    seen_rows: dict = {}
    for number, row in enumerate(rows, 1):
        key = frozenset((name, _value_key(value)) for name, value in row.items())
        if key in seen_rows:
            raise RunConfigError(f"list[{number}]: the same overrides as list[{seen_rows[key]}]"
                                 f" ({_shown(row) or 'none'}); each scenario must differ")
        seen_rows[key] = number
    swept = sorted({*keys, *(key for row in rows for key in row)})
    for key in swept:
        inner = [other for other in swept if other.startswith(key + ".")]
        if inner:
            raise RunConfigError(f"{key}: swept together with {inner[0]}, which it contains "
                                 "(which value wins would depend on the order); sweep one")
    grid = [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(expanded[k] for k in keys))]
    scenarios = []
    for row in rows:
        for point in grid:
            parameters = {**row, **point}
            scenarios.append(Scenario(scenario_id(parameters), parameters))
    return scenarios


def spec_from_dict(data: Mapping[str, Any], source: str = "sweep",
                   base_dir: Path | None = None) -> SweepSpec:
    """Validate a raw sweep dict (the TOML's tables) into a :class:`SweepSpec`."""
    try:
        model = _SpecModel.model_validate(dict(data))
    except ValidationError as error:
        raise RunConfigError(format_validation_error(error, f"{source}: ")) from None
    if model.base is not None and model.sweep.base is not None:
        raise RunConfigError(f"{source}: give either sweep.base (a file) or a [base] table")
    if model.base is not None:
        base = model.base
    elif model.sweep.base is not None:
        path = Path(model.sweep.base)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            base = read_toml(path)
        except RunConfigError as error:
            raise RunConfigError(f"{source}: sweep.base: {error}") from None
    else:
        raise RunConfigError(f"{source}: sweep.base: missing (a run config file or [base] table)")
    try:
        scenarios = build_scenarios(
            {k: v for k, v in model.product.items()}, model.explicit or None
        )
    except RunConfigError as error:
        raise RunConfigError(f"{source}: {error}") from None
    swept = sorted({key for s in scenarios for key in s.parameters})
    spec = SweepSpec(base=base, scenarios=scenarios, name=model.sweep.name,
                     metrics=model.sweep.metrics, chunk_size=model.sweep.chunk_size,
                     source=source, swept=swept)
    validate_scenarios(spec)
    return spec


def _shown(parameters: Mapping[str, Any], limit: int = 160) -> str:
    text = ", ".join(f"{key} = {value!r}" for key, value in parameters.items())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def validate_scenarios(spec: SweepSpec) -> None:
    """Validate the configuration of every scenario (the base with its overrides), before
    anything runs: a misspelled override key (``tax.ordnary``) or a bad value is a
    :class:`RunConfigError` naming the scenario, its overrides and the field. A sweep without
    scenarios validates its base alone."""
    if not spec.scenarios:
        config = config_from_dict(spec.base, f"{spec.source}: base")
        try:
            _check_tickers_early(config, {})
        except RunConfigError as error:
            raise RunConfigError(f"{spec.source}: base: {error}") from None
        return
    tickers_by_market: dict[str, tuple[str, ...]] = {}
    for number, scenario in enumerate(spec.scenarios, 1):
        try:
            data = apply_overrides(spec.base, scenario.parameters)
            config = config_from_dict(data, "")
            _check_tickers_early(config, tickers_by_market)
        except RunConfigError as error:
            where = (f"scenario {number} of {len(spec.scenarios)} ({scenario.id}; "
                     f"{_shown(scenario.parameters) or 'the base alone'})")
            raise RunConfigError(f"{spec.source}: {where}: {str(error).removeprefix(': ')}"
                                 ) from None


# a synthetic market's seed and path change its prices, never its tickers
_TICKER_FREE_FIELDS = ("seed", "path", "tail_df")


def _check_tickers_early(config, tickers_by_market: dict) -> None:
    """Where the market config names no tickers, check the targets, legacy lots and identity
    groups against the tickers the market will have, before the sweep runs: one market is
    built per distinct market config (seed and path aside; ``build_market`` caches it for the
    run), instead of every scenario failing in turn. Configs naming their tickers were
    checked by ``config_from_dict``."""
    if config.market.tickers is not None:
        return
    market_fields = config.market.model_dump(mode="json", exclude=set(_TICKER_FREE_FIELDS))
    key = stable_hash(market_fields)
    tickers = tickers_by_market.get(key)
    if tickers is None:
        tickers = tuple(build_market(config.market).tickers)
        tickers_by_market[key] = tickers
    check_market_tickers(config, tickers)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec TOML file."""
    path = Path(path)
    return spec_from_dict(read_toml(path), str(path), path.parent)
