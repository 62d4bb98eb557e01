"""The rollout ledger: reserve before spending, so the budget can never be exceeded.

A proposal reserves its worst case when it is planned, charges each rollout as
it launches, and releases what it did not use when it commits.  Decisions read
``available``, which depends only on committed charges and open reservations,
never on how far in-flight work has got.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BudgetExhausted

__all__ = ["Ledger", "Reservation"]


class Ledger:
    def __init__(self, limit: int | None) -> None:
        if limit is not None and limit < 0:
            raise ValueError("budget limit must be >= 0")
        self.limit = limit
        self.spent = 0
        self.reserved = 0

    @property
    def available(self) -> int | None:
        """Rollouts neither spent nor promised; ``None`` when unlimited."""
        if self.limit is None:
            return None
        return self.limit - self.spent - self.reserved

    def can_reserve(self, n: int) -> bool:
        available = self.available
        return available is None or n <= available

    def reserve(self, n: int) -> Reservation:
        if n < 0:
            raise ValueError("cannot reserve a negative amount")
        if not self.can_reserve(n):
            raise BudgetExhausted(f"cannot reserve {n} rollouts: {self.available} available")
        self.reserved += n
        return Reservation(self, n)


@dataclass(slots=True)
class Reservation:
    ledger: Ledger
    amount: int
    charged: int = 0
    closed: bool = False

    @property
    def remaining(self) -> int:
        return self.amount - self.charged

    def charge(self, n: int = 1) -> None:
        """Turn ``n`` reserved rollouts into spent ones."""
        if self.closed:
            raise BudgetExhausted("charge on a closed reservation")
        if n > self.remaining:
            raise BudgetExhausted(f"charge of {n} exceeds the {self.remaining} rollouts reserved")
        self.charged += n
        self.ledger.reserved -= n
        self.ledger.spent += n

    def release(self) -> int:
        """Give back what was not charged; returns the amount released."""
        if self.closed:
            return 0
        self.closed = True
        unused = self.remaining
        self.ledger.reserved -= unused
        self.amount = self.charged
        return unused
