"""Calendar arithmetic on int64 day numbers (days since 1970-01-01), usable inside numba.

Each kernel is a plain function ``name`` and its compiled twin ``name_nb``; plain functions
call the ``_nb`` twins of others, and ``NUMBA_DISABLE_JIT=1`` makes every path pure Python.

The civil-date conversions are Howard Hinnant's exact algorithms (proleptic Gregorian
calendar), so anniversaries and 30-day windows need no Python ``datetime`` in a kernel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

EPOCH = np.datetime64("1970-01-01", "D")


def days_from_civil(year, month, day):
    """Day number of a civil date (days since 1970-01-01)."""
    year = year - (1 if month <= 2 else 0)
    era = (year if year >= 0 else year - 399) // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def civil_from_days(day_number):
    """(year, month, day) of a day number."""
    z = day_number + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    day_of_era = z - era * 146097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096
    ) // 365
    year = year_of_era + era * 400
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = month_index + (3 if month_index < 10 else -9)
    return year + (1 if month <= 2 else 0), month, day


def year_of(day_number):
    """Calendar year of a day number."""
    return civil_from_days_nb(day_number)[0]


def held_more_than_months_from(acquired, months):
    """The first day on which property acquired on day ``acquired`` has been held more than
    ``months`` calendar months.

    The holding period is counted in calendar months from the day after acquisition (IRS Pub
    550 "Holding Period": "start counting on the date after the day you acquired the property.
    The day you disposed of the property is part of your holding period"; Rev. Rul. 66-7 and
    Rev. Rul. 70-598: periods in months, the day of acquisition excluded). Each holding month
    ends on the day before the same numbered day of the next month, so ``months`` months are
    complete on the day before the day after acquisition recurs ``months`` months later, and
    the period is *more than* that from then on. Where that day does not exist (counting
    from Feb 29, or from the 29th-31st into a shorter month) the months end on the last day of
    the month, and the first day of the next month is the first one past them: property bought
    on the last day of a month is held more than a year from the first day of the 13th month
    after (Caspe v. United States, 694 F.2d 1116 (8th Cir. 1982): bought Nov 30, sold May 31
    was not held more than six months). So bought 2023-02-28 and sold 2024-02-29 is held
    exactly one year, and only 2024-03-01 is past it.
    """
    year, month, day = civil_from_days_nb(acquired + 1)
    month_index = month - 1 + months
    year += month_index // 12
    month = month_index % 12 + 1
    if day > 28:  # the month may be shorter: a day past its end becomes the next month's first
        month_length = days_from_civil_nb(year, month + 1, 1) - days_from_civil_nb(year, month, 1)
        day = min(day, month_length + 1)  # days_from_civil is linear: day length + 1 rolls over
    return days_from_civil_nb(year, month, day)


def long_term_from(holding_start):
    """The first sale day that is long-term: the first day held more than one year.

    IRC §1222(3): held "more than 1 year"; IRS Pub 550 "Holding Period": bought 2024-02-05
    and sold 2025-02-05 is short-term, sold 2025-02-06 long-term; no 365- or 366-day
    shortcut. This is the day after the anniversary of the acquisition date, except for a
    purchase on the last day of February of a common year before a leap year (see
    :func:`held_more_than_months_from`): bought 2023-02-28, long-term from 2024-03-01.
    """
    return held_more_than_months_from_nb(holding_start, 12)


def is_long_term(holding_start, sale_day):
    """Long-term if sold on or after :func:`long_term_from` of the holding-period start."""
    return sale_day >= long_term_from_nb(holding_start)


# Inlined (numba ``inline="always"``) into the kernels that call them: a few integer
# operations each, and a kernel that calls nothing pays no reference counts (see
# ``taxsim/ledger/state.py``).
days_from_civil_nb = njit(cache=True, inline="always")(days_from_civil)
civil_from_days_nb = njit(cache=True, inline="always")(civil_from_days)
year_of_nb = njit(cache=True, inline="always")(year_of)
held_more_than_months_from_nb = njit(cache=True, inline="always")(held_more_than_months_from)
long_term_from_nb = njit(cache=True, inline="always")(long_term_from)
is_long_term_nb = njit(cache=True, inline="always")(is_long_term)


def to_day(value) -> int:
    """Day number of anything ``pandas.Timestamp`` accepts (time of day is dropped)."""
    timestamp = pd.Timestamp(value)
    if timestamp is pd.NaT:
        raise ValueError(f"not a date: {value!r}")
    return int((np.datetime64(timestamp.date(), "D") - EPOCH).astype(np.int64))


def to_days(values) -> np.ndarray:
    """int64 day numbers of a sequence or index of dates."""
    index = pd.DatetimeIndex(values)
    return (index.values.astype("datetime64[D]") - EPOCH).astype(np.int64)


def to_timestamp(day_number: int) -> pd.Timestamp:
    """``pandas.Timestamp`` of a day number."""
    return pd.Timestamp(EPOCH + np.timedelta64(int(day_number), "D"))


def to_datetime_index(day_numbers) -> pd.DatetimeIndex:
    """``DatetimeIndex`` of int64 day numbers."""
    offsets = np.asarray(day_numbers, dtype=np.int64).astype("timedelta64[D]")
    return pd.DatetimeIndex(EPOCH + offsets)
