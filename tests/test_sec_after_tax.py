"""taxsim.metrics.sec_after_tax: SEC Form N-1A standardized after-tax returns against hand
calculations.

Every expected number is derived step by step in the comments (and in the arithmetic beside
them), from the Form N-1A rules: distributions taxed by character on the reinvestment date and
reinvested net of tax as new lots (basis = amount reinvested), a fresh $1,000 per period, lots
short- or long-term by their own holding period, netting before the benefit of a net loss.
Rates: ``TaxRates()`` (37% ordinary, 20% long-term and qualified, 3.8% NIIT, no state) unless a
test says otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from taxsim import Market, TaxProfile, TaxRates
from taxsim.metrics._inputs import MetricsError
from taxsim.metrics.sec_after_tax import sec_after_tax_returns, sec_inputs_from_market

QUALIFIED = 0.20 + 0.038  # qualified dividends: 20% + 3.8% NIIT
ORDINARY = 0.37 + 0.038  # non-qualified dividends, short-term gain distributions and gains
LONG_TERM = 0.20 + 0.038  # long-term gain distributions and gains
RATES = TaxRates()


def series(points: dict[str, float]) -> pd.Series:
    return pd.Series(list(points.values()), index=pd.to_datetime(list(points)), name="NAV")


def frame(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["date", "kind", "amount"])


# One fund, four distributions of the four characters, then two possible redemptions.
FOUR_KINDS_PRICES = series({
    "2023-01-10": 10.00,  # the 1-year period's first day: $1,000 buys 100 shares
    "2023-04-10": 12.70,
    "2023-07-10": 11.00,
    "2023-10-10": 12.00,
    "2023-12-11": 12.50,
    "2024-01-10": 13.00,  # 1-year redemption at a gain
    "2024-01-11": 12.05,  # later redemption: short-term loss, long-term gain
})
FOUR_KINDS = frame(
    ("2023-04-10", "qualified_dividend", 0.50),
    ("2023-07-10", "nonqualified_dividend", 0.25),
    ("2023-10-10", "st_capital_gain", 0.40),
    ("2023-12-11", "lt_capital_gain", 1.00),
)

# After-tax reinvestments (the same for both redemptions), shares held before each in [ ]:
#   D1 qualified 0.50 x [100]              = 50.00,  tax 23.8% = 11.90,  net 38.10 @ 12.70
#      -> lot 1: 3 shares, basis 38.10
#   D2 non-qualified 0.25 x [103]          = 25.75,  tax 40.8% = 10.506, net 15.244 @ 11.00
#      -> lot 2: 1.385818 shares, basis 15.244
#   D3 short-term gain 0.40 x [104.385818] = 41.754327, tax 40.8% = 17.035766,
#      net 24.718562 @ 12.00 -> lot 3: 2.059880 shares
#   D4 long-term gain 1.00 x [106.445699]  = 106.445698, tax 23.8% = 25.334076,
#      net 81.111622 @ 12.50 -> lot 4: 6.488930 shares
#   total 112.934628 shares; taxes on distributions 11.90 + 10.506 + 17.035766 + 25.334076
#   = 64.775842
S1 = 38.10 / 12.70
N2 = 0.25 * (100 + S1) * (1 - ORDINARY)
S2 = N2 / 11.00
N3 = 0.40 * (100 + S1 + S2) * (1 - ORDINARY)
S3 = N3 / 12.00
N4 = 1.00 * (100 + S1 + S2 + S3) * (1 - LONG_TERM)
S4 = N4 / 12.50
SHARES = 100 + S1 + S2 + S3 + S4
DISTRIBUTION_TAXES = (0.50 * 100 * QUALIFIED + 0.25 * (100 + S1) * ORDINARY
                      + 0.40 * (100 + S1 + S2) * ORDINARY
                      + 1.00 * (100 + S1 + S2 + S3) * LONG_TERM)
# Before taxes every distribution is reinvested in full:
#   100 + 50/12.70 = 103.937008; x (1 + 0.25/11) = 106.299213; x (1 + 0.40/12) = 109.842520;
#   x (1 + 1.00/12.50) = 118.629921 shares
GROSS_SHARES = (100 + 50 / 12.70) * (1 + 0.25 / 11.00) * (1 + 0.40 / 12.00) * (1 + 1.00 / 12.50)


def test_hand_numbers_of_the_four_kinds_fund():
    # the derivation above, to the printed digits
    assert S1 == pytest.approx(3.0, abs=1e-12)
    assert S2 == pytest.approx(1.385818, abs=1e-6)
    assert N3 == pytest.approx(24.718562, abs=1e-6)
    assert S4 == pytest.approx(6.488930, abs=1e-6)
    assert SHARES == pytest.approx(112.934628, abs=1e-6)
    assert DISTRIBUTION_TAXES == pytest.approx(64.775842, abs=1e-6)
    assert GROSS_SHARES == pytest.approx(118.629921, abs=1e-6)


def test_one_year_four_characters_net_of_tax_redeemed_at_a_gain():
    out = sec_after_tax_returns(FOUR_KINDS_PRICES, FOUR_KINDS, periods=1, end="2024-01-10",
                                tax_profile=RATES)
    row = out["returns"].loc["1y"]
    assert row["start"] == pd.Timestamp("2023-01-10") and row["years"] == 1.0
    # ERV = 118.629921 x 13.00 = 1542.188976; T = 54.2189%
    assert row["erv"] == pytest.approx(GROSS_SHARES * 13.00, rel=1e-12)
    assert row["erv"] == pytest.approx(1542.188976, abs=1e-6)
    assert row["before_taxes"] == pytest.approx(0.5421890, abs=1e-7)
    # ATV_D = 112.934628 x 13.00 = 1468.150165; T_D = 46.8150%
    assert row["atv_d"] == pytest.approx(SHARES * 13.00, rel=1e-12)
    assert row["atv_d"] == pytest.approx(1468.150165, abs=1e-6)
    assert row["after_taxes_on_distributions"] == pytest.approx(0.4681502, abs=1e-7)
    assert row["distribution_taxes"] == pytest.approx(DISTRIBUTION_TAXES, rel=1e-12)
    # Redemption on 2024-01-10. The initial lot, bought 2023-01-10, is held exactly one year:
    # short-term (IRC §1222: "more than 1 year"; Instr. 7(c): the period's length); the
    # reinvested lots are younger. Basis 1000 + 38.10 + 15.244 + 24.718562 + 81.111622
    # = 1159.174184; gain 1468.150165 - 1159.174184 = 308.975981 short-term;
    # tax 40.8% = 126.062200; ATV_DR = 1342.087965; T_DR = 34.2088%
    basis = 1000 + 38.10 + N2 + N3 + N4
    gain = SHARES * 13.00 - basis
    assert gain == pytest.approx(308.975981, abs=1e-6)
    assert row["short_term_net"] == pytest.approx(gain, rel=1e-12)
    assert row["long_term_net"] == 0.0
    assert row["redemption_tax"] == pytest.approx(gain * ORDINARY, rel=1e-12)
    assert row["atv_dr"] == pytest.approx(SHARES * 13.00 - gain * ORDINARY, rel=1e-12)
    assert row["atv_dr"] == pytest.approx(1342.087965, abs=1e-6)
    assert row["after_taxes_on_distributions_and_redemption"] == pytest.approx(0.3420880,
                                                                              abs=1e-7)
    lots = out["lots"]
    assert lots["term"].tolist() == ["short_term"] * 5
    # each reinvested lot's basis is the amount reinvested, net of the tax
    assert lots["basis"].tolist() == pytest.approx([1000.0, 38.10, N2, N3, N4], rel=1e-12)
    assert lots["shares"].tolist() == pytest.approx([100.0, S1, S2, S3, S4], rel=1e-12)
    assert lots["acquired"].dt.strftime("%Y-%m-%d").tolist() == [
        "2023-01-10", "2023-04-10", "2023-07-10", "2023-10-10", "2023-12-11"]


def test_short_term_loss_nets_against_the_long_term_gain_before_any_benefit():
    # The same fund redeemed one day later, 2024-01-11, at 12.05, over the period since
    # inception: n = 1 + 1/365 (one whole year back to 2023-01-11, then 1 day of the 365-day
    # year 2022-01-11..2023-01-11).
    out = sec_after_tax_returns(FOUR_KINDS_PRICES, FOUR_KINDS, periods="since_inception",
                                end="2024-01-11", tax_profile=RATES)
    row = out["returns"].loc["since_inception"]
    n = 1 + 1 / 365
    assert row["years"] == pytest.approx(n, rel=1e-15)
    # lots at 12.05:
    #   initial 100 x 12.05 - 1000        = +205.00    long-term (bought 2023-01-10, sold
    #                                                   2024-01-11: held more than one year)
    #   lot 1   3 x 12.05 - 38.10          =   -1.95    short-term
    #   lot 2   1.385818 x 12.05 - 15.244  =   +1.455109 short-term
    #   lot 3   2.059880 x 12.05 - 24.718562 = +0.102994 short-term
    #   lot 4   6.488930 x 12.05 - 81.111622 = -2.920018 short-term (bought on D4's date: it
    #           received no capital gain distribution, so §852(b)(4)(A) does not apply)
    # net short-term -3.311915 offsets the long-term gain (IRC §1222, FAQ: netting first):
    # net long-term 201.688085, tax 23.8% = 48.001764. Not netted first, the loss would be
    # valued at 40.8%: 205 x 23.8% - 3.311915 x 40.8% = 47.438739.
    short_term = (S1 * 12.05 - 38.10) + (S2 * 12.05 - N2) + (S3 * 12.05 - N3) + (S4 * 12.05 - N4)
    assert short_term == pytest.approx(-3.311915, abs=1e-6)
    assert row["short_term_net"] == 0.0
    assert row["long_term_net"] == pytest.approx(205.0 + short_term, rel=1e-12)
    assert row["redemption_tax"] == pytest.approx((205.0 + short_term) * LONG_TERM, rel=1e-12)
    assert row["redemption_tax"] == pytest.approx(48.001764, abs=1e-6)
    assert row["redemption_tax"] != pytest.approx(47.438739, abs=1e-3)
    # ATV_D = 112.934628 x 12.05 = 1360.862269; ATV_DR = 1360.862269 - 48.001764 = 1312.860504
    assert row["atv_d"] == pytest.approx(1360.862269, abs=1e-6)
    assert row["atv_dr"] == pytest.approx(1312.860504, abs=1e-6)
    assert row["after_taxes_on_distributions_and_redemption"] == pytest.approx(
        (1312.860504 / 1000) ** (1 / n) - 1, abs=1e-9)
    assert row["before_taxes"] == pytest.approx((GROSS_SHARES * 12.05 / 1000) ** (1 / n) - 1,
                                                rel=1e-12)
    assert out["lots"]["term"].tolist() == ["long_term"] + ["short_term"] * 4


def test_a_net_capital_loss_is_worth_its_rate_of_the_same_character():
    # No distributions; 10.00 at both period starts, 8.00 at the end.
    prices = series({"2019-01-10": 10.0, "2023-01-10": 10.0, "2024-01-10": 8.0})
    out = sec_after_tax_returns(prices, periods=[1, 5], tax_profile=RATES)
    one, five = out["returns"].loc["1y"], out["returns"].loc["5y"]
    # 1 year: 100 shares, loss 200 short-term (held exactly one year); assumed to offset other
    # short-term gains in full (Instr. 7(d)): benefit 200 x 40.8% = 81.60;
    # ATV_DR = 800 + 81.60 = 881.60; T = T_D = -20%, T_DR = -11.84%
    assert one["erv"] == pytest.approx(800.0) and one["atv_d"] == pytest.approx(800.0)
    assert one["redemption_tax"] == pytest.approx(-81.60, abs=1e-9)
    assert one["atv_dr"] == pytest.approx(881.60, abs=1e-9)
    assert one["before_taxes"] == pytest.approx(-0.20, abs=1e-12)
    assert one["after_taxes_on_distributions_and_redemption"] == pytest.approx(-0.1184,
                                                                              abs=1e-12)
    # 5 years: the loss is long-term: benefit 200 x 23.8% = 47.60; ATV_DR = 847.60;
    # T_DR = 0.8476^(1/5) - 1 = -3.2528% (ln 0.8476 = -0.165342, / 5, exp: 0.967472)
    assert five["long_term_net"] == pytest.approx(-200.0)
    assert five["atv_dr"] == pytest.approx(847.60, abs=1e-9)
    assert five["after_taxes_on_distributions_and_redemption"] == pytest.approx(
        0.8476 ** 0.2 - 1, abs=1e-12)
    assert five["after_taxes_on_distributions_and_redemption"] == pytest.approx(-0.0325285,
                                                                               abs=1e-7)


def test_loss_on_shares_held_six_months_or_less_is_long_term_up_to_gain_distributions():
    prices = series({"2023-01-10": 10.0, "2023-09-11": 14.0, "2023-11-10": 12.0,
                     "2024-01-10": 9.0})
    distributions = frame(("2023-09-11", "nonqualified_dividend", 0.70),
                          ("2023-11-10", "lt_capital_gain", 2.00))
    out = sec_after_tax_returns(prices, distributions, periods=1, tax_profile=RATES)
    row = out["returns"].loc["1y"]
    # D1 0.70 x 100 = 70, tax 40.8% = 28.56, net 41.44 @ 14 -> lot 1: 2.96 shares
    # D2 2.00 x 102.96 = 205.92, tax 23.8% = 49.00896, net 156.91104 @ 12 -> lot 2: 13.07592
    #    (lot 1 received 2.00 x 2.96 = 5.92 of long-term capital gain distributions)
    # redemption at 9.00 on 2024-01-10:
    #   initial 900 - 1000 = -100 short-term (held a year: more than 6 months, no §852)
    #   lot 1   26.64 - 41.44 = -14.80, held 2023-09-11..2024-01-10 (6 months or less):
    #           long-term up to 5.92 (IRC §852(b)(4)(A)), the other 8.88 short-term
    #   lot 2   117.68328 - 156.91104 = -39.22776 short-term (received no distribution)
    # short-term -148.10776, long-term -5.92: both losses, each offsets other gains of its
    # character: benefit 148.10776 x 40.8% + 5.92 x 23.8% = 60.427966 + 1.408960 = 61.836926
    # (all short-term it would be 154.02776 x 40.8% = 62.843326)
    assert row["distribution_taxes"] == pytest.approx(28.56 + 49.00896, abs=1e-9)
    assert row["atv_d"] == pytest.approx((100 + 2.96 + 13.07592) * 9.0, abs=1e-9)
    assert row["short_term_net"] == pytest.approx(-148.10776, abs=1e-9)
    assert row["long_term_net"] == pytest.approx(-5.92, abs=1e-9)
    assert row["redemption_tax"] == pytest.approx(-61.836926, abs=1e-6)
    # ATV_D = 116.03592 x 9 = 1044.32328; ATV_DR = 1044.32328 + 61.836926 = 1106.160206
    assert row["atv_dr"] == pytest.approx(1106.160206, abs=1e-6)
    lots = out["lots"]
    assert lots["long_term_by_852"].tolist() == pytest.approx([0.0, 5.92, 0.0], abs=1e-12)
    assert lots["gain"].tolist() == pytest.approx([-100.0, -14.80, -39.22776], abs=1e-9)


def test_trailing_one_year_window_starts_fresh_with_1000_dollars():
    # A 2-year series: the price halves in year 1, a qualified dividend each year.
    prices = series({"2022-01-10": 20.0, "2022-06-10": 21.0, "2023-01-10": 10.0,
                     "2023-06-12": 11.0, "2024-01-10": 12.0})
    distributions = frame(("2022-06-10", "qualified_dividend", 1.00),
                          ("2023-06-12", "qualified_dividend", 0.55))
    out = sec_after_tax_returns(prices, distributions, tax_profile=RATES)
    returns = out["returns"]
    assert returns.index.tolist() == ["1y", "since_inception"]  # default: what the data covers
    one = returns.loc["1y"]
    # 1 year from 2023-01-10: a fresh $1,000 buys 100 shares at 10.00, basis 1000 (not the
    # 2-year lot's 50 shares at 20.00). Only the 2023 dividend is received:
    # 0.55 x 100 = 55, tax 23.8% = 13.09, net 41.91 @ 11 -> 3.81 shares, basis 41.91.
    # ATV_D = 103.81 x 12 = 1245.72. Gains: 1200 - 1000 = 200 and 45.72 - 41.91 = 3.81, both
    # short-term: tax 203.81 x 40.8% = 83.15448; ATV_DR = 1162.56552.
    # Before taxes: 55 / 11 = 5 shares, ERV = 105 x 12 = 1260 (T = 26%).
    assert one["start"] == pd.Timestamp("2023-01-10")
    assert one["erv"] == pytest.approx(1260.0, abs=1e-9)
    assert one["before_taxes"] == pytest.approx(0.26, abs=1e-12)
    assert one["distribution_taxes"] == pytest.approx(13.09, abs=1e-9)
    assert one["atv_d"] == pytest.approx(1245.72, abs=1e-9)
    assert one["redemption_tax"] == pytest.approx(83.15448, abs=1e-9)
    assert one["atv_dr"] == pytest.approx(1162.56552, abs=1e-9)
    assert one["after_taxes_on_distributions_and_redemption"] == pytest.approx(0.16256552,
                                                                              abs=1e-12)
    # Since inception (2 years, n = 2): 50 shares at 20.00.
    # 2022 dividend 1.00 x 50 = 50, tax 11.90, net 38.10 @ 21 -> 1.8142857 shares
    # 2023 dividend 0.55 x 51.8142857 = 28.4978571, tax 6.7824900, net 21.7153671 @ 11
    #   -> 1.9741243 shares; total 53.7884100; ATV_D = 645.4609203
    # lots at 12: 600 - 1000 = -400 and 21.7714286 - 38.10 = -16.3285714 long-term;
    #   23.6894916 - 21.7153671 = +1.9741245 short-term (= 1.9741243 x (12 - 11))
    # the long-term loss offsets the short-term gain: net long-term -414.3544469,
    # benefit x 23.8% = 98.6163584; ATV_DR = 744.0772787
    s1 = 50 * 1.00 * (1 - QUALIFIED) / 21
    s2 = 0.55 * (50 + s1) * (1 - QUALIFIED) / 11
    life = returns.loc["since_inception"]
    assert life["years"] == 2.0
    assert life["atv_d"] == pytest.approx((50 + s1 + s2) * 12, rel=1e-12)
    assert life["atv_d"] == pytest.approx(645.4609203, abs=1e-6)
    assert life["short_term_net"] == 0.0
    assert life["long_term_net"] == pytest.approx(-400 + s1 * (12 - 21) + s2 * (12 - 11),
                                                  rel=1e-12)
    assert life["atv_dr"] == pytest.approx(744.0772787, abs=1e-6)


def test_return_of_capital_reduces_basis_untaxed_and_is_reinvested():
    prices = series({"2023-01-10": 10.0, "2023-06-12": 9.0, "2024-01-10": 10.0})
    # a return of capital and a qualified dividend on the same date, paid on the 100 shares
    # held before that date's reinvestment
    distributions = frame(("2023-06-12", "return_of_capital", 1.00),
                          ("2023-06-12", "qualified_dividend", 0.50))
    out = sec_after_tax_returns(prices, distributions, periods=1, tax_profile=RATES)
    row = out["returns"].loc["1y"]
    # ROC 1.00 x 100 = 100, untaxed: the initial lot's basis 1000 -> 900
    # dividend 0.50 x 100 = 50, tax 11.90; reinvested 150 - 11.90 = 138.10 @ 9
    #   -> 15.344444 shares, basis 138.10
    # ATV_D = 115.344444 x 10 = 1153.444444
    # gains: 1000 - 900 = 100 and 153.444444 - 138.10 = 15.344444, short-term 115.344444,
    # tax 40.8% = 47.060533; ATV_DR = 1106.383911
    # before taxes: 150 / 9 = 16.666667 shares, ERV = 1166.666667
    assert row["distribution_taxes"] == pytest.approx(11.90, abs=1e-12)
    assert row["erv"] == pytest.approx(1000 + 10 * 150 / 9, rel=1e-12)
    assert row["atv_d"] == pytest.approx(1000 + 10 * 138.10 / 9, rel=1e-12)
    assert row["short_term_net"] == pytest.approx(100 + 10 * 138.10 / 9 - 138.10, rel=1e-12)
    assert row["atv_dr"] == pytest.approx(1106.383911, abs=1e-6)
    assert out["lots"]["basis"].tolist() == pytest.approx([900.0, 138.10], abs=1e-12)


def test_return_of_capital_beyond_basis_is_a_gain_taxed_on_the_distribution_date():
    prices = series({"2023-01-10": 10.0, "2023-03-10": 30.0, "2024-01-10": 30.0})
    distributions = frame(("2023-03-10", "return_of_capital", 12.00))
    out = sec_after_tax_returns(prices, distributions, periods=1, tax_profile=RATES)
    row = out["returns"].loc["1y"]
    # ROC 12.00 x 100 = 1200 > basis 1000: basis 0, excess 200 a short-term gain (held 2
    # months; IRC §301(c)(3)), tax 40.8% = 81.60; reinvested 1118.40 @ 30 -> 37.28 shares
    # ATV_D = 137.28 x 30 = 4118.40; redemption: 3000 - 0 = 3000 and 1118.40 - 1118.40 = 0,
    # short-term: tax 1224; ATV_DR = 2894.40. Before taxes: 40 more shares, ERV = 4200.
    assert row["distribution_taxes"] == pytest.approx(81.60, abs=1e-9)
    assert row["atv_d"] == pytest.approx(4118.40, abs=1e-9)
    assert row["redemption_tax"] == pytest.approx(1224.0, abs=1e-9)
    assert row["atv_dr"] == pytest.approx(2894.40, abs=1e-9)
    assert row["erv"] == pytest.approx(4200.0, abs=1e-9)


def test_rates_in_effect_on_each_reinvestment_date_and_the_conventions():
    # Default profile: US top federal rates by year. 2012: 15% qualified, no NIIT;
    # 2013: 20% + 3.8% NIIT qualified, 39.6% + 3.8% ordinary.
    prices = series({"2012-01-10": 10.0, "2012-12-14": 10.0, "2013-01-08": 10.0,
                     "2013-01-10": 11.0})
    distributions = frame(("2012-12-14", "qualified_dividend", 1.00),
                          ("2013-01-08", "qualified_dividend", 1.00))
    out = sec_after_tax_returns(prices, distributions, periods=1)
    row = out["returns"].loc["1y"]
    # D1 1.00 x 100 = 100 at 15% = 15.00, net 85 @ 10 -> 8.5 shares
    # D2 1.00 x 108.5 = 108.5 at 23.8% = 25.823, net 82.677 @ 10 -> 8.2677 shares
    # ATV_D = 116.7677 x 11 = 1284.4447; gains 100 + 8.5 + 8.2677 = 116.7677 short-term at
    # the 2013 rate 43.4%: tax 50.6771818; ATV_DR = 1233.7675182
    assert row["distribution_taxes"] == pytest.approx(15.0 + 25.823, abs=1e-9)
    assert row["atv_d"] == pytest.approx(1284.4447, abs=1e-9)
    assert row["redemption_tax"] == pytest.approx(116.7677 * 0.434, abs=1e-9)
    assert row["atv_dr"] == pytest.approx(1233.7675182, abs=1e-7)
    conventions = out["conventions"]
    assert conventions is out["returns"].attrs["conventions"]
    rates = conventions["rates_by_year"]
    assert sorted(rates) == [2012, 2013]
    assert rates[2012]["qualified_dividend"] == pytest.approx(0.15)
    assert rates[2012]["components"]["niit"] == 0.0
    assert rates[2013]["qualified_dividend"] == pytest.approx(0.238)
    assert rates[2013]["short_term_gain"] == pytest.approx(0.434)
    assert conventions["tax_profile"] == "US top federal rates by year"
    assert conventions["state_tax"].startswith("none")
    assert conventions["initial_payment"] == 1000.0
    assert any("§852(b)(4)(A)" in rule for rule in conventions["rules"])
    assert any("Instr. 7(d)" in rule for rule in conventions["rules"])

    # a profile's state rate is left out unless asked for (N-1A Instr. 4)
    with_state = TaxProfile.us_top_historical(state=0.05)
    plain = sec_after_tax_returns(prices, distributions, periods=1, tax_profile=with_state)
    assert plain["returns"].loc["1y", "atv_dr"] == pytest.approx(1233.7675182, abs=1e-7)
    taxed = sec_after_tax_returns(prices, distributions, periods=1, tax_profile=with_state,
                                  include_state=True)
    # 2012 dividend at 15% + 5% = 20%: 20.00
    assert taxed["conventions"]["rates_by_year"][2012]["qualified_dividend"] == pytest.approx(
        0.20)
    assert taxed["returns"].loc["1y", "distribution_taxes"] == pytest.approx(
        20.0 + 1.00 * (100 + 8.0) * 0.288, abs=1e-9)
    assert taxed["conventions"]["state_tax"].startswith("included")


def test_2003_long_term_rate_of_the_distribution_and_redemption_dates():
    # US top federal rates by year: long-term 20% before 2003-05-06, 15% from it (JGTRRA 2003
    # §301); 35% ordinary; no NIIT. Item 26(b)(2)-(3), Instr. 4: the rates in effect on each
    # reinvestment date and on the redemption date.
    prices = series({"1998-01-02": 10.0, "2003-03-20": 10.0, "2003-04-02": 12.0,
                     "2003-06-20": 10.0, "2003-07-02": 12.0})
    distributions = frame(("2003-03-20", "lt_capital_gain", 1.00),
                          ("2003-06-20", "lt_capital_gain", 1.00))
    before = sec_after_tax_returns(prices, distributions, end="2003-04-02", periods=5)
    row = before["returns"].loc["5y"]
    # 100 shares from 1998-04-02 @ 10. D1 1.00 x 100 = 100 at 20% = 20, net 80 @ 10 -> 8
    # shares. Redeemed @ 12 before May 6: 200 long-term at 20% + (96 - 80) short-term at 35%
    assert row["distribution_taxes"] == pytest.approx(20.0, abs=1e-9)
    assert row["redemption_tax"] == pytest.approx(200 * 0.20 + 16 * 0.35, abs=1e-9)

    after = sec_after_tax_returns(prices, distributions, end="2003-07-02", periods=5)
    row = after["returns"].loc["5y"]
    # D2 1.00 x 108 = 108 at 15% = 16.20, net 91.80 @ 10 -> 9.18 shares. Redeemed @ 12:
    # 200 long-term at 15%; 16 + (110.16 - 91.80) = 34.36 short-term at 35%
    assert row["distribution_taxes"] == pytest.approx(20.0 + 16.20, abs=1e-9)
    assert row["atv_d"] == pytest.approx(117.18 * 12, abs=1e-9)
    assert row["redemption_tax"] == pytest.approx(200 * 0.15 + 34.36 * 0.35, abs=1e-9)
    rates = after["conventions"]["rates_by_year"]
    assert rates["2003 before 2003-05-06"]["long_term_gain"] == pytest.approx(0.20)
    assert rates[2003]["long_term_gain"] == pytest.approx(0.15)
    assert rates["2003 before 2003-05-06"]["qualified_dividend"] == pytest.approx(0.15)


def test_market_inputs_split_adjusted_with_characters():
    market = Market(
        dates=pd.to_datetime(["2023-01-10", "2023-03-10", "2023-06-12", "2024-01-10"]),
        tickers=["FUND"],
        close=np.array([[20.0], [21.0], [10.5], [11.0]]),
        dividend=np.array([[0.0], [1.00], [0.0], [0.0]]),
        interest=np.array([[0.0], [0.0], [0.10], [0.0]]),
        lt_capital_gain=np.array([[0.0], [0.0], [0.0], [0.30]]),
        split_ratio=np.array([[1.0], [1.0], [2.0], [1.0]]),
        qualified_fraction=[0.6],
        tax_character=["taxable_bond"],
    )
    prices, distributions = sec_inputs_from_market(market, "FUND")
    # in today's shares: prices before the 2-for-1 split halved, as are amounts per share
    assert prices.tolist() == [10.0, 10.5, 10.5, 11.0]
    assert distributions["kind"].tolist() == [
        "qualified_dividend", "nonqualified_dividend", "nonqualified_dividend",
        "lt_capital_gain"]
    assert distributions["amount"].tolist() == pytest.approx([0.30, 0.20, 0.10, 0.30])
    assert distributions["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2023-03-10", "2023-03-10", "2023-06-12", "2024-01-10"]
    assert distributions.attrs["exempt_interest_daily"] is False
    # a municipal bond fund's interest is paid as exempt-interest dividends (IRC §852(b)(5)),
    # its daily-declaration flag travels with them (and its character's default qualified
    # fraction is 0: the whole dividend is non-qualified)
    municipal = market.with_metadata({"FUND": {"tax_character": "municipal_bond"}})
    _, distributions = sec_inputs_from_market(municipal, "FUND")
    assert distributions["kind"].tolist() == [
        "nonqualified_dividend", "exempt_interest_dividend", "lt_capital_gain"]
    assert distributions["amount"].tolist() == pytest.approx([0.50, 0.10, 0.30])
    assert distributions.attrs["exempt_interest_daily"] is False
    daily = municipal.with_metadata({"FUND": {"exempt_interest_daily": True}})
    assert sec_inputs_from_market(daily, "FUND")[1].attrs["exempt_interest_daily"] is True


def test_the_capital_gain_distributions_28_and_25_percent_parts():
    """Form 1099-DIV box 2a of $1.00 a share: $0.30 collectibles gain (box 2d, at most 28%),
    $0.20 unrecaptured section 1250 gain (box 2b, at most 25%), the rest $0.50 at the long-term
    rate (IRC §1(h)(1)(E)-(F), (h)(4)-(6)), each plus NIIT; on 100 shares the tax is
    50 x 23.8% + 30 x 31.8% + 20 x 28.8% = 11.90 + 9.54 + 5.76 = $27.20."""
    prices = series({"2023-07-10": 10.0, "2023-09-11": 10.0, "2023-12-11": 8.0})
    parts = frame(("2023-09-11", "lt_capital_gain", 0.50),
                  ("2023-09-11", "collectibles_gain", 0.30),
                  ("2023-09-11", "unrecaptured_1250_gain", 0.20))
    out = sec_after_tax_returns(prices, parts, periods="since_inception", end="2023-12-11",
                                tax_profile=RATES)
    row = out["returns"].loc["since_inception"]
    assert row["distribution_taxes"] == pytest.approx(27.20, abs=1e-9)
    # $72.80 reinvested at $10: 7.28 shares; ATV_D = 107.28 x $8
    assert row["atv_d"] == pytest.approx(107.28 * 8.0, abs=1e-9)
    # Redeemed five months after the purchase at a $200 loss on the first lot: short-term,
    # but long-term up to the $100 of capital gain dividends it received, every part of box
    # 2a counted (IRC §852(b)(4)(A)); the reinvested lot (received nothing) loses $14.56
    # short-term. Both net losses are a benefit at their rates (Instr. 7(d)).
    assert row["long_term_net"] == pytest.approx(-100.0, abs=1e-9)
    assert row["short_term_net"] == pytest.approx(-100.0 - 14.56, abs=1e-9)
    # a lower ordinary rate caps both groups (§1(h)(1): "the lesser of")
    low = sec_after_tax_returns(prices, parts, periods="since_inception", end="2023-12-11",
                                tax_profile=TaxRates(ordinary=0.24))
    assert low["returns"].loc["since_inception", "distribution_taxes"] == pytest.approx(
        50 * 0.238 + 30 * 0.278 + 20 * 0.278, abs=1e-9)
    components = out["conventions"]["rates_by_year"][2023]["components"]
    assert (components["collectibles"], components["unrecaptured_1250"]) == (0.28, 0.25)
    # the same $1.00 as one long-term row: $23.80
    whole = sec_after_tax_returns(prices, frame(("2023-09-11", "lt_capital_gain", 1.0)),
                                  periods="since_inception", end="2023-12-11",
                                  tax_profile=RATES)
    assert whole["returns"].loc["since_inception", "distribution_taxes"] == pytest.approx(
        23.80, abs=1e-9)
    # 2003's cut of the long-term rate on May 6 left the 28% and 25% rates as they were
    early = series({"2003-01-02": 10.0, "2003-03-03": 10.0, "2003-12-01": 10.0})
    parts_2003 = frame(("2003-03-03", "lt_capital_gain", 0.5),
                       ("2003-03-03", "collectibles_gain", 0.3),
                       ("2003-03-03", "unrecaptured_1250_gain", 0.2))
    historical = sec_after_tax_returns(early, parts_2003, periods="since_inception",
                                       end="2003-12-01", tax_profile=TaxProfile.us_top_historical())
    assert historical["returns"].loc["since_inception", "distribution_taxes"] == \
        pytest.approx(50 * 0.20 + 30 * 0.28 + 20 * 0.25, abs=1e-9)


def test_market_inputs_split_the_capital_gain_distribution_into_its_parts():
    market = Market(
        dates=pd.to_datetime(["2023-01-10", "2023-12-11", "2024-01-10"]),
        tickers=["REIT"], close=np.array([[20.0], [21.0], [22.0]]),
        lt_capital_gain=np.array([[0.0], [0.50], [0.0]]),
        tax_character=["reit"], unrecaptured_1250_fraction=[0.6], collectibles_fraction=[0.1])
    _, distributions = sec_inputs_from_market(market, "REIT")
    gains = distributions[distributions["kind"] != "nonqualified_dividend"]
    assert gains["kind"].tolist() == ["lt_capital_gain", "collectibles_gain",
                                      "unrecaptured_1250_gain"]
    assert gains["amount"].tolist() == pytest.approx([0.15, 0.05, 0.30], rel=1e-12)


MUNI_PRICES = series({"2023-01-10": 10.0, "2023-08-10": 10.0, "2023-11-10": 10.0,
                      "2023-12-11": 10.0, "2024-01-10": 8.0})
MUNI = frame(("2023-08-10", "exempt_interest_dividend", 0.30),
             ("2023-11-10", "exempt_interest_dividend", 0.30),
             ("2023-12-11", "lt_capital_gain", 0.50))


@pytest.mark.parametrize("declared_daily", [False, True], ids=["monthly", "daily"])
def test_municipal_fund_exempt_interest_is_untaxed_and_young_losses_follow_852_b_4(
        declared_daily):
    # Reinvestments at $10 (Instr. 4: no tax on tax-exempt interest):
    #   E1 0.30 x [100]    = 30.00, no tax -> lot 1: 3 shares, basis 30.00 (2023-08-10)
    #   E2 0.30 x [103]    = 30.90, no tax -> lot 2: 3.09 shares, basis 30.90 (2023-11-10);
    #      lot 1 received 0.30 x 3 = 0.90 of it
    #   G  0.50 x [106.09] = 53.045, tax 23.8% = 12.62471, net 40.42029 -> lot 3: 4.042029
    #      shares (2023-12-11); lot 1 received 0.50 x 3 = 1.50 and lot 2 0.50 x 3.09 = 1.545
    # Redemption at $8 on 2024-01-10 (lots 1-3 held six months or less):
    #   initial 800 - 1000 = -200 short-term (held exactly a year)
    #   lot 1   24 - 30 = -6: §852(b)(4)(B) disallows 0.90 (none if declared daily), then
    #           §852(b)(4)(A) makes 1.50 of the rest long-term
    #   lot 2   24.72 - 30.90 = -6.18: no exempt interest received; 1.545 long-term
    #   lot 3   32.336232 - 40.42029 = -8.084058 short-term
    disallowed = 0.0 if declared_daily else 0.90
    out = sec_after_tax_returns(MUNI_PRICES, MUNI, periods=1, tax_profile=RATES,
                                exempt_interest_daily=declared_daily)
    row = out["returns"].loc["1y"]
    assert row["distribution_taxes"] == pytest.approx(12.62471, abs=1e-9)
    assert row["erv"] == pytest.approx((100 + 3 + 3.09 + 5.3045) * 8.0, abs=1e-9)
    assert row["atv_d"] == pytest.approx((100 + 3 + 3.09 + 4.042029) * 8.0, abs=1e-9)
    short_term = -200.0 + (-6.0 + disallowed + 1.50) + (-6.18 + 1.545) - 8.084058
    assert row["short_term_net"] == pytest.approx(short_term, abs=1e-9)
    assert row["long_term_net"] == pytest.approx(-1.50 - 1.545, abs=1e-9)
    benefit = -short_term * ORDINARY + 3.045 * LONG_TERM  # 88.982886 (monthly)
    assert row["redemption_tax"] == pytest.approx(-benefit, abs=1e-9)
    assert row["atv_dr"] == pytest.approx(881.056232 + benefit, abs=1e-9)
    lots = out["lots"]
    assert lots["exempt_interest_disallowed"].tolist() == pytest.approx(
        [0.0, disallowed, 0.0, 0.0], abs=1e-12)
    assert lots["long_term_by_852"].tolist() == pytest.approx([0.0, 1.50, 1.545, 0.0],
                                                              abs=1e-12)
    assert lots["gain"].tolist() == pytest.approx(
        [-200.0, -6.0 + disallowed, -6.18, -8.084058], abs=1e-9)
    assert out["conventions"]["exempt_interest"].startswith("declared daily") == declared_daily


def test_exempt_interest_rule_counts_six_months_from_each_lot_and_reads_the_market_flag():
    # Redeemed on 2024-02-12, lot 1 (2023-08-10) is held more than six months: its loss is
    # allowed in full; the flag comes from the distributions' attrs when not given
    prices = series({**{str(k.date()): v for k, v in MUNI_PRICES.items()}, "2024-02-12": 8.0})
    distributions = MUNI.copy()
    out = sec_after_tax_returns(prices, distributions, periods=1, end="2024-02-12",
                                tax_profile=RATES)
    assert out["lots"]["exempt_interest_disallowed"].tolist() == [0.0] * 4
    distributions.attrs["exempt_interest_daily"] = True
    later = sec_after_tax_returns(MUNI_PRICES, distributions, periods=1, tax_profile=RATES)
    assert later["lots"]["exempt_interest_disallowed"].sum() == 0.0
    distributions.attrs["exempt_interest_daily"] = False
    monthly = sec_after_tax_returns(MUNI_PRICES, distributions, periods=1, tax_profile=RATES)
    assert monthly["lots"]["exempt_interest_disallowed"].sum() == pytest.approx(0.90)
    with pytest.raises(MetricsError, match="exempt_interest_daily: must be True or False"):
        sec_after_tax_returns(MUNI_PRICES, MUNI, periods=1, exempt_interest_daily="yes")


GOOD_PRICES = {"2023-01-10": 10.0, "2023-06-01": 11.0, "2024-01-10": 12.0}


@pytest.mark.parametrize(
    "prices, distributions, kwargs, message",
    [
        (series({"2023-06-01": 11.0, "2023-03-01": 10.0, "2024-06-01": 12.0}), None, {},
         r"prices: dates must be strictly increasing; 2023-03-01 comes after 2023-06-01"),
        (series({"2023-01-10": 10.0, "2023-06-01": 11.0}).pipe(
            lambda s: pd.concat([s, s.iloc[[1]]])), None, {},
         r"prices: .*2023-06-01 is repeated"),
        (series({**GOOD_PRICES, "2023-06-01": 0.0}), None, {},
         r"prices: the price on 2023-06-01 is 0.0"),
        (series({**GOOD_PRICES, "2023-06-01": np.nan}), None, {},
         r"prices: the price on 2023-06-01 is nan"),
        (series(GOOD_PRICES), frame(("2023-06-01", "special_dividend", 0.1)), {},
         r"distributions: unknown kind 'special_dividend' on 2023-06-01"),
        (series(GOOD_PRICES), frame(("2023-06-01", "qualified_dividend", -0.1)), {},
         r"distributions: amount of the qualified_dividend on 2023-06-01"),
        (series(GOOD_PRICES), frame(("2023-06-02", "lt_capital_gain", 0.1)), {},
         r"distributions: no price on 2023-06-02"),
        (series(GOOD_PRICES), frame(("2024-02-01", "lt_capital_gain", 0.1)), {},
         r"distributions: the lt_capital_gain on 2024-02-01 is outside"),
        (series(GOOD_PRICES), None, {"periods": 5},
         r"periods: the 5-year period 2019-01-10..2024-01-10 is longer than the data, whose "
         r"first price is on 2023-01-10"),
        (series(GOOD_PRICES), None, {"periods": "3m"}, r"periods: '3m'"),
        (series(GOOD_PRICES), None, {"end": "2024-02-01"}, r"end: 2024-02-01"),
        (series(GOOD_PRICES), None, {"tax_profile": 0.3}, r"tax_profile"),
        (pd.DataFrame({"NAV": [1.0, 2.0]}), None, {}, r"prices: expected a pandas Series"),
    ],
)
def test_bad_input_names_the_field_and_date(prices, distributions, kwargs, message):
    with pytest.raises(ValueError, match=message):
        sec_after_tax_returns(prices, distributions, **kwargs)


def test_a_fractional_period_is_refused_by_name():
    with pytest.raises(MetricsError, match=r"periods: 1.5 is not a number of years"):
        sec_after_tax_returns(series(GOOD_PRICES), None, periods=1.5)


def test_two_year_losses_of_both_characters_each_worth_its_rate():
    """Independent case: $1,000 at $20 (50 shares) on 2022-01-03; a $1.00 long-term gain
    distribution on 2022-12-15 at $18 and a $0.20 non-qualified dividend on 2023-03-01 at $17,
    each taxed then (23.8% and 40.8%) and reinvested net; all redeemed at $15 on 2024-01-03.
    The initial and first reinvested lots are long-term losses, the last a short-term loss;
    N-1A Instr. 7(d): each net loss is worth its character's rate."""
    prices = pd.Series([20.0, 18.0, 17.0, 15.0],
                       index=pd.to_datetime(["2022-01-03", "2022-12-15", "2023-03-01",
                                             "2024-01-03"]))
    distributions = pd.DataFrame({"date": ["2022-12-15", "2023-03-01"],
                                  "kind": ["lt_capital_gain", "nonqualified_dividend"],
                                  "amount": [1.0, 0.2]})
    out = sec_after_tax_returns(prices, distributions, periods=2, tax_profile=TaxRates())
    row = out["returns"].loc["2y"]
    net_b = 50 * (1 - 0.238)                 # 38.10 reinvested at 18
    income = (50 + net_b / 18) * 0.2         # paid on the shares held before reinvesting
    net_c = income * (1 - 0.408)
    shares = 50 + net_b / 18 + net_c / 17
    long_term = (50 * 15 - 1000) + (net_b / 18 * 15 - net_b)   # -256.35
    short_term = net_c / 17 * 15 - net_c
    assert row["long_term_net"] == pytest.approx(-256.35, abs=1e-9)
    assert row["short_term_net"] == pytest.approx(short_term, abs=1e-12)
    assert row["atv_d"] == pytest.approx(shares * 15, abs=1e-9)
    atv_dr = shares * 15 - long_term * 0.238 - short_term * 0.408
    assert row["atv_dr"] == pytest.approx(atv_dr, abs=1e-9)
    assert row["after_taxes_on_distributions_and_redemption"] == pytest.approx(
        (atv_dr / 1000) ** 0.5 - 1, abs=1e-13)
