"""Money is exact: rewards in whole fen by commercial rounding, sums without binary-float drift."""

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from shared.platform.money import exact_sum, from_fen, to_fen
from shared.rewards.ledger import reward_fen, summary


def test_fifteen_percent_of_thirty_fen_is_five_fen_not_four():
    assert reward_fen(0, 15, 0.30) == 5  # round(0.3 * 15 / 100.0, 2) gives 0.04


def test_a_reward_on_orders_kept_in_fen_is_a_whole_fen():
    assert reward_fen(0, 15, 1999, amount_scale=100) == 300  # not 299.85 fen, which nobody can pay
    assert from_fen(300, amount_scale=100) == 300.0 and from_fen(300) == 3.0


def test_the_rounding_rule_is_the_one_configured():
    assert reward_fen(0, 15, 0.30, rounding="down") == 4
    assert reward_fen(0, 50, 0.05, rounding="half_even") == 2  # 2.5 fen → 2
    assert reward_fen(0, 50, 0.05, rounding="half_up") == 3


yuan = st.integers(min_value=1, max_value=19999).map(lambda cents: cents / 100)  # ¥0.01 … ¥199.99 as written
percent = st.integers(min_value=0, max_value=10000).map(lambda hundredths: hundredths / 100)  # 0.00 … 100.00 %
fixed = st.integers(min_value=0, max_value=10000).map(lambda cents: cents / 100)


@given(fixed, percent, yuan)
def test_rewards_equal_decimal_arithmetic_with_half_up_rounding(fixed_amount, rate, order):
    expected = (Decimal(str(fixed_amount)) + Decimal(str(order)) * Decimal(str(rate)) / 100) * 100
    assert reward_fen(fixed_amount, rate, order) == int(expected.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@given(st.lists(yuan, max_size=300))
def test_sums_equal_decimal_sums(amounts):
    assert Decimal(str(exact_sum(amounts))) == sum((Decimal(str(a)) for a in amounts), Decimal(0))
    assert sum(to_fen(a) for a in amounts) == round(sum(Decimal(str(a)) for a in amounts) * 100)


def test_ledger_totals_add_whole_fen():
    rewards = [{"state": "approved", "amountFen": 10, "invitee": str(i)} for i in range(3)] + [
        {"state": "clawback", "amountFen": -10, "invitee": "x"}
    ]
    totals = summary(rewards)
    assert totals["amounts"]["approved"] == 0.3 and totals["toPay"] == 0.2  # 0.1 + 0.1 + 0.1 is 0.3 here


def test_the_liability_report_adds_whole_fen_where_floats_drift(database, monkeypatch, capsys):
    """Ten rewards of 0.10 yuan and a clawback: the display amounts' float sum drifts (0.9999999999999999), the
    operator's report (``make rewards``) adds ``amountFen`` and prints 1.00 and -0.30 exactly."""
    from shared.ops import cli
    from shared.platform import config, db

    monkeypatch.setenv("REWARD_FIXED", "0.1")
    config.reset()

    def entry(key, state, amount, fen, kind):
        return {
            "_id": key,
            "programme": "default",
            "orderId": key,
            "kind": kind,
            "inviter": "AAA111",
            "state": state,
            "amount": amount,
            "amountFen": fen,
        }

    entries = [entry(f"r{i}", "approved", 0.1, 10, "reward") for i in range(10)]
    entries += [entry(f"c{i}", "clawback", -0.1, -10, "clawback") for i in range(3)]
    assert sum(e["amount"] for e in entries[:10]) != 1.0  # the drift the report must not show
    db.database()["rewards"].insert_many(entries)
    assert cli.main(["rewards"]) == 0
    out = capsys.readouterr().out
    assert "liability 1.00 (pending 0.00, approved 1.00, being paid 0.00)" in out and "clawbacks -0.30" in out, out
    row = next(line for line in out.splitlines() if "AAA111" in line)
    assert row.split()[1:] == ["0.00", "1.00", "0.00", "0.00", "0.00", "0.00", "-0.30"]


def test_yuan_are_written_from_fen_without_a_float():
    from shared.platform.money import yuan

    assert [yuan(f) for f in (0, 5, 100, 123456, -30, -1234)] == ["0.00", "0.05", "1.00", "1234.56", "-0.30", "-12.34"]
