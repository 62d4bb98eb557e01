import pytest

from paretext.engine import Ledger
from paretext.errors import BudgetExhausted


def test_reserve_charge_release() -> None:
    ledger = Ledger(10)
    r = ledger.reserve(6)
    assert ledger.available == 4
    r.charge(2)
    assert (ledger.spent, ledger.reserved, ledger.available) == (2, 4, 4)
    assert r.release() == 4
    assert (ledger.spent, ledger.reserved, ledger.available) == (2, 0, 8)
    assert r.release() == 0


def test_cannot_over_reserve_or_over_charge() -> None:
    ledger = Ledger(5)
    r = ledger.reserve(5)
    assert not ledger.can_reserve(1)
    with pytest.raises(BudgetExhausted):
        ledger.reserve(1)
    r.charge(5)
    with pytest.raises(BudgetExhausted):
        r.charge(1)
    r.release()
    with pytest.raises(BudgetExhausted):
        r.charge(1)


def test_unlimited_ledger() -> None:
    ledger = Ledger(None)
    assert ledger.available is None
    ledger.reserve(10**9).charge(10**9)
    assert ledger.spent == 10**9
