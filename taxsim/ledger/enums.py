"""Constants, codes and record dtypes shared by the ledger kernels (vectorbt-style ``enums``).

Kernels see only integers and arrays; this module gives the integers names.
"""

from __future__ import annotations

import numpy as np

# Account kinds (IRS: taxable brokerage; traditional IRA / 401(k); Roth).
TAXABLE = 0
TAX_DEFERRED = 1
TAX_EXEMPT = 2
ACCOUNT_KIND_CODES = {"taxable": TAXABLE, "tax_deferred": TAX_DEFERRED, "tax_exempt": TAX_EXEMPT}

FILING_STATUSES = {"single", "married_joint", "married_separate", "head_of_household"}

# Lot relief methods.
FIFO = 0
LIFO = 1
HIFO = 2
TAX_OPTIMAL = 3
SPECIFIC = 4
AVERAGE = 5
GAINS_FIRST = 6  # gains by least tax per dollar, then the smallest losses: see lots.py
LOT_METHOD_CODES = {
    "fifo": FIFO,
    "lifo": LIFO,
    "hifo": HIFO,
    "tax_optimal": TAX_OPTIMAL,
    "specific": SPECIFIC,
    "average": AVERAGE,
    "gains_first": GAINS_FIRST,
}
LOT_METHOD_NAMES = {code: name for name, code in LOT_METHOD_CODES.items()}
LAST_LOT_METHOD = max(LOT_METHOD_CODES.values())  # codes run FIFO..LAST_LOT_METHOD
# what each method means, for readers of a table, summary or chart footnote
LOT_METHOD_DESCRIPTIONS = {
    "fifo": "first in, first out",
    "lifo": "last in, first out",
    "hifo": "highest cost first",
    "tax_optimal": "losses first, then the gains with the least tax",
    "specific": "lots named by id",
    "average": "average cost",
    "gains_first": "gains with the least tax first, then the smallest losses",
}

# Loss conventions (see annual_tax.py).
STANDALONE = 0
OFFSET = 1
LOSS_CONVENTION_CODES = {"standalone": STANDALONE, "offset": OFFSET}

# Kernel status codes: 0 is success; a failing kernel has changed nothing.
OK = 0
ERR_NOT_ENOUGH_SHARES = 1
ERR_BAD_SHARES = 2
ERR_BAD_PRICE = 3
ERR_DATE_BACKWARDS = 4
ERR_YEAR_CLOSED = 5
ERR_UNKNOWN_LOT = 6
ERR_BAD_RATIO = 7
ERR_BAD_AMOUNT = 8
ERR_YEAR_RANGE = 9
ERR_NO_ROOM = 10
ERR_TOO_MANY_LOTS = 11
ERR_TOO_MANY_ROWS = 12
MAX_LOT_ID = 2**31 - 1  # lot ids and slots are int32 (state.py)
MAX_ROWS = 2**31 - 1  # realized rows link each other with int32 (realized_dtype)
MAX_ACCOUNTS = 2**15 - 1  # realized rows store the account as int16
STATUS_MESSAGES = {
    ERR_NOT_ENOUGH_SHARES: "not enough shares held",
    ERR_BAD_SHARES: "shares must be finite and positive",
    ERR_BAD_PRICE: "price must be finite and positive",
    ERR_DATE_BACKWARDS: "date is before the previous event",
    ERR_YEAR_CLOSED: "the year of this date is already closed",
    ERR_UNKNOWN_LOT: "unknown or closed lot id for this account and asset",
    ERR_BAD_RATIO: "split ratio must be finite and positive",
    ERR_BAD_AMOUNT: "distribution amounts must be finite and non-negative",
    ERR_YEAR_RANGE: "date outside the supported years",
    ERR_NO_ROOM: "internal: make_room() was not called before the event",
    ERR_TOO_MANY_LOTS: f"the ledger has used its {MAX_LOT_ID:,} lot ids",
    ERR_TOO_MANY_ROWS: f"the ledger has written its {MAX_ROWS:,} realized rows",
}

# Years kept in the annual tables: index = year - FIRST_YEAR.
FIRST_YEAR = 1900
N_YEARS = 300

# Columns of the rate table (TaxProfile.rate_table).
RATE_ORDINARY = 0
RATE_LONG_TERM = 1
RATE_QUALIFIED_DIVIDEND = 2
RATE_NIIT = 3
RATE_STATE = 4
RATE_LOSS_LIMIT = 5
# A change of the long-term rate within the year (JGTRRA 2003 §301(c): 20% -> 15% for gains
# taken into account from 2003-05-06): the rate before the change day (equal to RATE_LONG_TERM
# in a year without a change) and the change day's number (+inf: no change that year).
RATE_LONG_TERM_BEFORE_CHANGE = 6
RATE_CHANGE_DAY = 7
# Fraction of qualified REIT dividends deducted (IRC §199A(b)(1)(B): 20% from 2018, 0 before)
RATE_SECTION_199A_DEDUCTION = 8
# Maximum rates of the 28% and 25% groups of net capital gain (IRC §1(h)(1)(E)-(F)): long-term
# collectibles gain (§1(h)(4)-(5)) and unrecaptured section 1250 gain (§1(h)(6))
RATE_COLLECTIBLES = 9
RATE_UNRECAPTURED_1250 = 10
N_RATE_FIELDS = 11

# Columns of the per-year income table (taxable accounts only), dollars.
YEAR_ST_GAIN = 0  # realized short-term gain (loss negative), after wash-sale adjustments
YEAR_LT_GAIN = 1  # realized long-term gain
YEAR_QUALIFIED_DIVIDENDS = 2
YEAR_NONQUALIFIED_DIVIDENDS = 3
YEAR_INTEREST = 4
YEAR_EXEMPT_INTEREST = 5
YEAR_ST_CAPITAL_GAIN_DISTRIBUTIONS = 6  # taxed as ordinary dividends (Pub 550)
YEAR_LT_CAPITAL_GAIN_DISTRIBUTIONS = 7  # Schedule D line 13
YEAR_RETURN_OF_CAPITAL = 8  # nondividend distributions received (basis reduction + excess)
YEAR_WASH_DISALLOWED = 9
YEAR_WASH_LOST = 10
YEAR_PROCEEDS = 11
# Gains and losses taken into account from the year's rate-change day on (2003 Schedule D
# column (g), "Post-May 5 gain or (loss)": lines 1-5 short-term; lines 8-13 long-term, capital
# gain distributions included, carryovers excluded). Zero in a year without a change.
YEAR_ST_GAIN_AFTER_RATE_CHANGE = 12
YEAR_LT_GAIN_AFTER_RATE_CHANGE = 13
# Qualified REIT dividends and a fund's section 199A dividends that passed the holding test
# (IRC §199A(e)(3); Treas. Reg. §1.199A-3(c)(2)(ii), (d)): a part of the non-qualified dividends
YEAR_SECTION_199A_DIVIDENDS = 14
# Long-term collectibles gain or (loss) (IRC §1(h)(5), §408(m)): sales of collectible assets
# held more than a year and capital gain distributions' collectibles part (Form 1099-DIV box
# 2d); a part of YEAR_LT_GAIN + YEAR_LT_CAPITAL_GAIN_DISTRIBUTIONS (28% Rate Gain Worksheet
# lines 1 and 4)
YEAR_COLLECTIBLES_GAIN = 15
# Unrecaptured section 1250 gain in capital gain distributions (IRC §1(h)(6); box 2b): a part
# of YEAR_LT_CAPITAL_GAIN_DISTRIBUTIONS (Unrecaptured Section 1250 Gain Worksheet line 11)
YEAR_UNRECAPTURED_1250_GAIN = 16
N_YEAR_FIELDS = 17
YEAR_FIELD_NAMES = (
    "st_gain",
    "lt_gain",
    "qualified_dividends",
    "nonqualified_dividends",
    "interest",
    "exempt_interest",
    "st_capital_gain_distributions",
    "lt_capital_gain_distributions",
    "return_of_capital",
    "wash_disallowed",
    "wash_lost",
    "proceeds",
    "st_gain_after_rate_change",
    "lt_gain_after_rate_change",
    "section_199a_dividends",
    "collectibles_gain",
    "unrecaptured_1250_gain",
)

# Columns of the annual tax result (annual_tax.compute_year_tax).
TAX_NET_ST = 0
TAX_NET_LT = 1
TAX_LOSS_DEDUCTION = 2
TAX_CARRY_ST_OUT = 3
TAX_CARRY_LT_OUT = 4
TAX_ORDINARY_BASE = 5
TAX_LT_GAIN_BASE = 6
TAX_QUALIFIED_BASE = 7
TAX_FEDERAL_ORDINARY = 8
TAX_FEDERAL_PREFERENTIAL = 9
TAX_NIIT = 10
TAX_STATE = 11
TAX_TOTAL = 12
# the part of TAX_LT_GAIN_BASE taxed at the long-term rate before a change within the year
TAX_LT_GAIN_BASE_BEFORE_RATE_CHANGE = 13
# the §199A deduction for qualified REIT dividends, dollars (federal ordinary tax only)
TAX_SECTION_199A_DEDUCTION = 14
# the parts of TAX_LT_GAIN_BASE taxed at the unrecaptured section 1250 rate and at the
# collectibles rate (IRC §1(h)(1)(E), (F)); the rest is adjusted net capital gain (§1(h)(3))
TAX_UNRECAPTURED_1250_BASE = 15
TAX_COLLECTIBLES_BASE = 16
N_TAX_FIELDS = 17
TAX_FIELD_NAMES = (
    "net_st",
    "net_lt",
    "loss_deduction",
    "carryforward_st_out",
    "carryforward_lt_out",
    "ordinary_base",
    "lt_gain_base",
    "qualified_base",
    "federal_ordinary_tax",
    "federal_preferential_tax",
    "niit",
    "state_tax",
    "total_tax",
    "lt_gain_base_before_rate_change",
    "section_199a_deduction",
    "unrecaptured_1250_gain_base",
    "collectibles_gain_base",
)

# Ledger counters (int64 array).
CNT_SLOTS_USED = 0  # high-water mark of lot slots
CNT_FREE = 1  # slots on the free stack
CNT_NEXT_LOT_ID = 2
CNT_SALE_ROWS = 3  # rows in the realized records
CNT_NEXT_SALE_ID = 4  # sales are numbered from 1
CNT_FIRST_YEAR = 5  # year of the first event (0 before any); the tax chain starts there
CNT_LAST_DAY = 6
CNT_LAST_CLOSED_YEAR = 7
N_COUNTERS = 8

NO_SLOT = -1
NO_DAY = -(2**40)
NO_SALE_ID = 0  # sale_id of a realized row no sale wrote (return of capital beyond basis)

# Realized sale records, one per (sale, lot) portion.
# 112 bytes a row (rows are written once, in order, 1.9 per event in the ledger benchmark: their
# fresh memory is a tenth of its time): the dollar and share amounts as float64, lot ids, day
# numbers and the row link as int32 (lot ids stop at MAX_LOT_ID; day numbers of the supported
# years fit), the account as int16, then the flags
realized_dtype = np.dtype(
    [
        ("sale_id", np.int64),
        ("shares", np.float64),
        ("proceeds", np.float64),
        ("basis", np.float64),
        ("wash_disallowed", np.float64),
        ("wash_lost", np.float64),
        ("loss_shares_open", np.float64),  # loss shares still open to wash-sale matching
        ("loss_per_open_share", np.float64),  # dollars per open share (rescaled by splits)
        # capital gain distributions per sold share of a loss sale held 6 months or less
        # (IRC §852(b)(4)(A)), dollars per share; 0 where the rule does not apply
        ("capital_gain_per_share", np.float64),
        # loss disallowed for good because the sold shares, held 6 months or less, received
        # exempt-interest dividends (IRC §852(b)(4)(B)), dollars >= 0; taken off the loss
        # before the wash-sale rule looks at it
        ("exempt_interest_disallowed", np.float64),
        ("lot_id", np.int32),
        ("origin", np.int32),
        ("acquired", np.int32),
        ("holding_start", np.int32),
        ("sold", np.int32),
        ("next_pending", np.int32),  # next row in its identity group's open-window list
        ("asset", np.int32),
        ("account", np.int16),
        ("taxable", np.bool_),
        ("long_term", np.bool_),
    ],
    align=True,
)
