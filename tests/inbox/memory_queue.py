"""An in-memory DeliveryQueue on Trio's clock, for testing worker logic under the autojump clock.

The real queue (SQL on SQLite and PostgreSQL) is tested against the same behaviours in tests/store.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import trio


@dataclass
class Item:
    id: int
    attempts: int = 0
    status: str = "pending"
    owner: str | None = None
    lease_expires_at: float = 0.0
    next_attempt_at: float = 0.0
    last_error: str | None = None
    history: list[str] = field(default_factory=list)


class MemoryQueue:
    def __init__(self, count: int = 0) -> None:
        self.items = {i: Item(i) for i in range(1, count + 1)}

    def add(self, delivery_id: int) -> None:
        self.items[delivery_id] = Item(delivery_id)

    async def claim(self, owner: str, lease: float) -> Item | None:
        await trio.lowlevel.checkpoint()
        now = trio.current_time()
        for item in sorted(self.items.values(), key=lambda i: (i.next_attempt_at, i.id)):
            due = item.status == "pending" and item.next_attempt_at <= now
            expired = item.status == "leased" and item.lease_expires_at <= now
            if due or expired:
                item.status, item.owner = "leased", owner
                item.lease_expires_at = now + lease
                item.attempts += 1
                item.history.append(f"claim:{owner}")
                return Item(item.id, item.attempts)
        return None

    async def claim_many(self, owner: str, lease: float, limit: int) -> list[Item]:
        claimed = []
        for _ in range(limit):
            item = await self.claim(owner, lease)
            if item is None:
                break
            claimed.append(item)
        return claimed

    def _held(self, delivery_id: int, owner: str) -> Item | None:
        item = self.items[delivery_id]
        return item if item.status == "leased" and item.owner == owner else None

    async def renew(self, delivery_id: int, owner: str, lease: float) -> bool:
        await trio.lowlevel.checkpoint()
        item = self._held(delivery_id, owner)
        if item is None or item.lease_expires_at <= trio.current_time():
            return False
        item.lease_expires_at = trio.current_time() + lease
        return True

    async def complete(self, delivery_id: int, owner: str) -> bool:
        return self._finish(delivery_id, owner, "done")

    async def retry(self, delivery_id: int, owner: str, delay: float, error: str) -> bool:
        item = self._finish(delivery_id, owner, "pending", error)
        if item:
            self.items[delivery_id].next_attempt_at = trio.current_time() + delay
        return item

    async def dead_letter(self, delivery_id: int, owner: str, error: str) -> bool:
        return self._finish(delivery_id, owner, "dead", error)

    async def release(self, delivery_id: int, owner: str) -> bool:
        item = self._held(delivery_id, owner)
        if item is None:
            return False
        item.status, item.owner, item.attempts = "pending", None, item.attempts - 1
        item.history.append("release")
        return True

    def _finish(self, delivery_id: int, owner: str, status: str, error: str | None = None) -> bool:
        item = self._held(delivery_id, owner)
        if item is None:
            return False
        item.status, item.owner, item.last_error = status, None, error
        item.history.append(status)
        return True


class QueueDown(Exception):
    """What a real queue raises when its database is unreachable."""


class FlakyQueue(MemoryQueue):
    """A MemoryQueue whose database can be switched off."""

    def __init__(self, count: int = 0) -> None:
        super().__init__(count)
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise QueueDown("connection refused")

    async def claim(self, owner: str, lease: float) -> Item | None:
        self._check()
        return await super().claim(owner, lease)

    async def renew(self, delivery_id: int, owner: str, lease: float) -> bool:
        self._check()
        return await super().renew(delivery_id, owner, lease)

    async def complete(self, delivery_id: int, owner: str) -> bool:
        self._check()
        return await super().complete(delivery_id, owner)
