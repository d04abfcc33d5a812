"""One style for every taxsim chart: palette, fonts, grid, spines, footnote, saving.

- Palette: Okabe & Ito (2008), "Color Universal Design", eight colours distinguishable with
  the common colour-vision deficiencies; lines also differ by dash where it matters.
- Fonts: DejaVu Sans (shipped with matplotlib, so output is the same everywhere), text kept as
  text in SVG and TrueType-embedded in PDF.
- Every chart carries a footnote with its assumptions: the word "Hypothetical", the tax rates,
  loss convention, tax payment, lot method, liquidation, costs, period and data source.

Figures are built with :class:`matplotlib.figure.Figure` on the Agg canvas
(``FigureCanvasAgg``) without pyplot: no global backend switch, no display needed, no figure
kept alive by pyplot; functions return the Figure.
"""

from __future__ import annotations

import contextlib
import math
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, Formatter, FuncFormatter, NullLocator

from taxsim.ledger.enums import LOT_METHOD_DESCRIPTIONS

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
"""The Okabe-Ito palette (hex)."""

CYCLE = [OKABE_ITO[c] for c in ("blue", "orange", "bluish_green", "vermillion",
                                "reddish_purple", "sky_blue", "yellow", "black")]
ROLE = {
    "pre_tax": OKABE_ITO["blue"],
    "after_tax": OKABE_ITO["orange"],
    "liquidation": OKABE_ITO["bluish_green"],
    "gain": OKABE_ITO["blue"],
    "gain_long": OKABE_ITO["sky_blue"],
    "loss": OKABE_ITO["vermillion"],
    "loss_long": OKABE_ITO["orange"],
    "alpha": OKABE_ITO["bluish_green"],
    "accent": OKABE_ITO["reddish_purple"],
    "neutral": "#555555",
}
"""Colours by meaning, so one quantity has one colour across charts."""

FOOTNOTE_SIZE = 7.0
TEXT_COLOR = "#222222"
RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9.5,
    "axes.titlesize": 11.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 8.0,
    "axes.labelsize": 9.5,
    "axes.labelcolor": TEXT_COLOR,
    "axes.edgecolor": "#444444",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "axes.prop_cycle": matplotlib.cycler(color=CYCLE),
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "xtick.color": TEXT_COLOR,
    "ytick.color": TEXT_COLOR,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.unicode_minus": False,  # "-1.2%" on ticks, as in value labels, tables and footnotes
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
}
"""matplotlib rcParams of the taxsim style."""

FOOTNOTE_KEYS = (
    ("tax_rates", "Rates"),
    ("tax_profile", "Tax profile"),
    ("loss_convention", "Loss convention"),
    ("tax_payment", "Taxes"),
    ("lot_method", "Lot method"),
    ("sale_lot_methods", "Sales by lot method"),
    ("liquidation", "Liquidation"),
    ("costs", "Costs"),
    ("advisory_fee", "Advisory fee"),
    ("period", "Period"),
    ("data_source", "Data"),
    ("identity_groups", "Wash-sale identity groups"),
    ("legacy_lots", "Legacy lots"),
)


class ChartError(ValueError):
    """Input a chart cannot use; the message names the argument."""


@contextlib.contextmanager
def styled() -> Iterator[None]:
    """Context in which matplotlib uses the taxsim style."""
    with matplotlib.rc_context(RC):
        yield


def footnote_text(conventions: Mapping[str, Any], extra: str | None = None) -> str:
    """The assumptions line every chart carries.

    Starts with "Hypothetical", then the rates (``conventions["tax_rates"]``, else the
    ``tax_profile`` name) and every convention present among loss convention, tax payment,
    lot method, sales by lot method, liquidation, costs, advisory fee, period, data source,
    identity groups left apart and legacy lots.

    Raises
    ------
    ChartError
        If ``conventions`` has neither ``tax_rates`` nor ``tax_profile``.
    """
    if not conventions.get("tax_rates") and not conventions.get("tax_profile"):
        raise ChartError("conventions: a chart footnote needs 'tax_rates' or 'tax_profile' "
                         "(use taxsim.metrics.conventions_of(result))")
    parts = ["Hypothetical results from a simulation, not the performance of any account"]
    if extra:
        parts.append(extra)
    for key, label in FOOTNOTE_KEYS:
        if key == "tax_profile" and conventions.get("tax_rates"):
            continue
        value = conventions.get(key)
        if value not in (None, ""):
            parts.append(f"{label}: {_readable(value, key)}")
    return ". ".join(parts) + "."


# what a convention's code name means, for readers of a chart (the code name stays, so that
# the footnote still names the setting)
READER_NOTES = {
    ("loss_convention", "standalone"): "losses offset this household's own gains, then up to "
    "the yearly limit of ordinary income; the rest carries forward",
    ("loss_convention", "offset"): "every loss assumed used at once against outside gains",
    **{("lot_method", name): text for name, text in LOT_METHOD_DESCRIPTIONS.items()},
}


def _readable(value: Any, key: str = "") -> str:
    """A convention's text for readers: column names spelled out ("liquidation_value" is
    "liquidation value") and a code name followed by what it means (``READER_NOTES``)."""
    text = str(value).replace("liquidation_value", "liquidation value")
    note = READER_NOTES.get((key, text))
    return f"{text} ({note})" if note else text


def _footnote_lines(text: str, width_inches: float, size: float = FOOTNOTE_SIZE) -> list[str]:
    characters = max(40, int(width_inches * 72.0 / (size * 0.53)))
    return textwrap.wrap(text, characters)


def new_figure(
    conventions: Mapping[str, Any],
    size: tuple[float, float] = (8.0, 4.8),
    extra_footnote: str | None = None,
    **subplots: Any,
) -> tuple[Figure, Any]:
    """A styled Figure with ``subplots`` (``fig.subplots`` arguments) and the footnote.

    The footnote sits below the axes, the layout (constrained) keeps clear of it.
    Returns ``(figure, axes)``.
    """
    lines = _footnote_lines(footnote_text(conventions, extra_footnote), size[0] - 0.25)
    with styled():
        figure = Figure(figsize=size)
        FigureCanvasAgg(figure)
        line_height = FOOTNOTE_SIZE * 1.35 / 72.0
        reserved = (len(lines) * line_height + 0.22) / size[1]
        figure.set_layout_engine("constrained", rect=(0.0, reserved, 1.0, 1.0 - reserved),
                                 h_pad=0.06, w_pad=0.06)
        axes = figure.subplots(**subplots)
        note = figure.text(0.125 / size[0], 0.09 / size[1], "\n".join(lines), ha="left",
                           va="bottom", fontsize=FOOTNOTE_SIZE, color="#444444",
                           linespacing=1.35)
        note.set_gid("footnote")
    return figure, axes


def footnote_of(figure: Figure) -> str:
    """The footnote text of a taxsim figure (line breaks as spaces)."""
    for text in figure.texts:
        if text.get_gid() == "footnote":
            return " ".join(text.get_text().split())
    raise ChartError("this figure has no taxsim footnote")


def save(figure: Figure, path: str | Path | Iterable[str | Path] | None) -> list[Path]:
    """Save ``figure`` to each path (PNG at 200 dpi; SVG or PDF as vectors, by suffix).

    Folders are created. Returns the paths written (none when ``path`` is None).
    """
    if path is None:
        return []
    paths = [Path(path)] if isinstance(path, str | Path) else [Path(p) for p in path]
    written = []
    for target in paths:
        suffix = target.suffix.lower()
        if suffix not in (".png", ".svg", ".pdf"):
            raise ChartError(f"path {target}: use .png, .svg or .pdf")
        target.parent.mkdir(parents=True, exist_ok=True)
        with styled():
            figure.savefig(target, dpi=200 if suffix == ".png" else None,
                           metadata={"Creator": "taxsim"} if suffix != ".png" else None)
        written.append(target)
    return written


def _compact(value: float, unit: str = "$") -> str:
    magnitude = abs(value)
    sign = "-" if value < 0 else ""
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            number = magnitude / threshold
            decimals = 2 if number < 10 else 1 if number < 100 else 0
            text = f"{number:.{decimals}f}"
            text = text.rstrip("0").rstrip(".") if "." in text else text
            return f"{sign}{unit}{text}{suffix}"
    return f"{sign}{unit}{magnitude:,.0f}"


dollar_formatter = FuncFormatter(lambda value, _: _compact(value))
"""Axis formatter: $950, $12k, $1.2M."""


class PercentTicks(Formatter):
    """Axis formatter for fractions: 0.012 -> "1.2%".

    With ``decimals`` None, the decimals are the fewest that write the spacing of the axis's
    ticks exactly (ticks 0.2% apart: "0.2%", "0.4%"; 0.25% apart: "0.25%", "0.50%"), so ticks
    are never rounded into wrong labels nor padded with zeros ("0.300%")."""

    def __init__(self, decimals: int | None = None) -> None:
        self.decimals = decimals

    def _decimals(self) -> int:
        if self.decimals is not None:
            return self.decimals
        locs = sorted(float(v) for v in (self.axis.get_majorticklocs() if self.axis else []))
        steps = [b - a for a, b in zip(locs, locs[1:], strict=False) if b - a > 0]
        if not steps:
            return 1
        step = 100.0 * min(steps)
        decimals = max(0, math.ceil(-math.log10(step) - 1e-9))
        while decimals < 6 and abs(round(step, decimals) - step) > 1e-6 * step:
            decimals += 1
        return decimals

    def __call__(self, value: float, pos: int | None = None) -> str:
        decimals = self._decimals()
        text = f"{100.0 * value:.{decimals}f}"
        if float(text) == 0.0:
            text = text.lstrip("-")
        return text + "%"


def percent_formatter(decimals: int | None = None) -> PercentTicks:
    """Axis formatter for fractions: 0.012 -> "1.2%" (decimals from the ticks' spacing by
    default: :class:`PercentTicks`)."""
    return PercentTicks(decimals)


def year_ticks(ax: Any, years: Iterable[int], max_ticks: int = 12) -> None:
    """Year ticks on the x axis of a chart by year: every year when at most ``max_ticks``,
    else every 2nd, 5th, 10th... year on round numbers, so labels never run together."""
    years = sorted({int(y) for y in years})
    if not years:
        return
    span = years[-1] - years[0]
    step = next((s for s in (1, 2, 5, 10, 20, 25, 50, 100) if span // s + 1 <= max(max_ticks, 1)),
                100)
    first = years[0] if step == 1 else int(math.ceil(years[0] / step) * step)
    ticks = list(range(first, years[-1] + 1, step)) or [years[0]]
    ax.set_xticks(ticks)
    ax.xaxis.set_minor_locator(FixedLocator(years) if step > 1
                               else NullLocator())


def format_dollars(value: float) -> str:
    """$1,234,567 (whole dollars)."""
    return f"-${-value:,.0f}" if value < 0 else f"${value:,.0f}"


def format_percent(value: float, decimals: int = 2) -> str:
    """0.0123 -> "1.23%"; NaN -> "n/a"."""
    if value is None or value != value:
        return "n/a"
    return f"{100 * value:.{decimals}f}%"
