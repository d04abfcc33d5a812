"""Exact share totals per position: a fixed-point accumulator of the lots' shares.

A position's open shares (what a dividend is paid on, what the engine holds) are defined as
the exact sum of its lots' shares rounded once to the nearest double, ties to even: the value
``math.fsum`` gives, the same in any order of the lots. Float additions in list order would
depend on the order and could not be kept through a sale; the exact sum is kept through every
change of a lot's shares in O(1), so reading it never walks the lots.

Each position's accumulator is four int64 (``state.position_exact[account, asset]``): three
62-bit limbs of a signed integer counting units of ``2**-124`` shares (limbs 0 and 1 in
``[0, 2**62)``, limb 2 signed), and the number of open lots whose shares the limbs cannot hold
exactly (below ``2**-70`` or from ``2**60`` shares; 0.0 counts as held). While that number is
above zero, the total is the list-order sum of the lots instead (``state.position_shares``).
"""

from __future__ import annotations

import struct

import numpy as np
from llvmlite import ir as llvm_ir
from numba import njit, types
from numba.core.extending import intrinsic, overload

LIMB_BITS = 62
LIMB_MASK = (1 << LIMB_BITS) - 1
UNIT_EXPONENT = -124  # the limbs count units of 2**-124 shares
OUT_OF_RANGE = 3  # column: open lots whose shares are outside [SMALLEST, LARGEST)
N_EXACT = 4
SMALLEST = 2.0**-70  # shares; every double from here up to LARGEST is a whole number of units
LARGEST = 2.0**60
FRACTION_BITS = 52  # IEEE 754 double: 52 fraction bits, then 11 exponent bits (bias 1023)
FRACTION_MASK = (1 << FRACTION_BITS) - 1
EXPONENT_BIAS = 1023


def float_bits(value):
    """The IEEE 754 bits of a double, as an int64 (jitted: a register move; numba's
    ``math.frexp`` and ``math.ldexp`` are calls into its C helpers)."""
    return struct.unpack("<q", struct.pack("<d", value))[0]


def bits_float(bits):
    """The double whose IEEE 754 bits are ``bits`` (an int64)."""
    return struct.unpack("<d", struct.pack("<q", bits))[0]


@intrinsic
def _bitcast_to_int(typingctx, value):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvm_ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _bitcast_to_float(typingctx, bits):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvm_ir.DoubleType())

    return types.float64(types.int64), codegen


@overload(float_bits, inline="always")
def _float_bits_jit(value):
    return lambda value: _bitcast_to_int(np.float64(value))


@overload(bits_float, inline="always")
def _bits_float_jit(bits):
    return lambda bits: _bitcast_to_float(np.int64(bits))


def power_of_two(exponent):
    """``2.0 ** exponent`` for a normal result (-1022 <= exponent <= 1023), built from bits."""
    return bits_float(np.int64(exponent + EXPONENT_BIAS) << FRACTION_BITS)


def exact_add(exact, account, asset, shares, sign):
    """Add ``sign`` (+1 or -1) times ``shares`` (a double >= 0) to the position's accumulator,
    exactly; a value out of range is counted instead. Branch-free (inlined into the kernels
    that change lots, numba then prunes their reference counts)."""
    in_range = shares >= SMALLEST and shares < LARGEST
    counted = not in_range and shares != 0.0
    bits = float_bits(shares if in_range else 1.0)  # a normal double
    digits = (bits & FRACTION_MASK) | (np.int64(1) << FRACTION_BITS)
    # shares = digits * 2**(biased exponent - 1075); the digits' lowest unit is bit `shift`
    shift = ((bits >> FRACTION_BITS) & 0x7FF) - EXPONENT_BIAS - FRACTION_BITS - UNIT_EXPONENT
    limb = shift // LIMB_BITS
    offset = shift - LIMB_BITS * limb
    low = (digits & ((np.int64(1) << (LIMB_BITS - offset)) - 1)) << offset
    high = digits >> (LIMB_BITS - offset)  # 0 when limb is 2 (offset <= 7)
    step = np.int64(sign) if in_range else np.int64(0)
    exact[account, asset, limb] += step * low
    exact[account, asset, min(limb + 1, 2)] += step * high
    exact[account, asset, OUT_OF_RANGE] += sign if counted else 0
    carry = exact[account, asset, 0] >> LIMB_BITS  # floor: limbs 0 and 1 back in [0, 2**62)
    exact[account, asset, 0] -= carry << LIMB_BITS
    exact[account, asset, 1] += carry
    carry = exact[account, asset, 1] >> LIMB_BITS
    exact[account, asset, 1] -= carry << LIMB_BITS
    exact[account, asset, 2] += carry


def bit_length(value):
    """Number of bits of an int64 ``value`` > 0."""
    # the float's exponent, but the conversion may round up to the next power of 2
    length = ((float_bits(float(value)) >> FRACTION_BITS) & 0x7FF) - EXPONENT_BIAS + 1
    return length - 1 if (value >> (length - 1)) == 0 else length


def exact_value(exact, account, asset):
    """The accumulator's total rounded to the nearest double, ties to even (shares; the
    total is >= 0)."""
    low = exact[account, asset, 0]
    middle = exact[account, asset, 1]
    top = exact[account, asset, 2]
    if top == 0 and middle == 0 and low < (1 << 53):
        return float(low) * power_of_two_nb(UNIT_EXPONENT)  # exact
    if top != 0:
        length = 2 * LIMB_BITS + bit_length_nb(top)
    elif middle != 0:
        length = LIMB_BITS + bit_length_nb(middle)
    else:
        length = bit_length_nb(low)
    shift = length - 54  # keep 54 bits: the 53 of a double and the rounding bit
    limb = shift // LIMB_BITS
    offset = shift - LIMB_BITS * limb
    here = low if limb == 0 else (middle if limb == 1 else top)
    above = middle if limb == 0 else (top if limb == 1 else np.int64(0))
    kept = (here >> offset) | (above << (LIMB_BITS - offset))  # nothing above bit 54
    sticky = (here & ((np.int64(1) << offset) - 1)) != 0
    sticky = sticky or (limb >= 1 and low != 0) or (limb >= 2 and middle != 0)
    digits = kept >> 1
    if (kept & 1) != 0 and (sticky or (digits & 1) != 0):
        digits += 1
    return float(digits) * power_of_two_nb(shift + 1 + UNIT_EXPONENT)  # exact


def exact_reset(exact, account, asset):
    """Empty the position's accumulator."""
    for column in range(N_EXACT):
        exact[account, asset, column] = 0


power_of_two_nb = njit(cache=True, inline="always")(power_of_two)
exact_add_nb = njit(cache=True, inline="always")(exact_add)
bit_length_nb = njit(cache=True, inline="always")(bit_length)
exact_value_nb = njit(cache=True, inline="always")(exact_value)
exact_reset_nb = njit(cache=True, inline="always")(exact_reset)
