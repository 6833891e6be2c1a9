"""How the audit benchmark counts the answers of one kind of request, and judges them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PAGE_LIMIT = 50  # the listing's default, and the console's page


@dataclass
class Timing:
    """The latencies of one kind of request and what the answers held."""

    name: str
    target: str
    limit_ms: float
    by: str  # the statistic held against the limit: p99 or max
    paged: bool = True  # answers are listing pages (items), not statistics rows
    latencies_ms: list[float] = field(default_factory=list)
    items: list[int] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    # The query parameters of the slowest request, to explain when the target is missed.
    slowest: dict[str, str] = field(default_factory=dict)

    def add(self, ms: float, status: int, items: int, params: Mapping[str, str]) -> None:
        """Count one answer."""
        if not self.latencies_ms or ms > max(self.latencies_ms):
            self.slowest = dict(params)
        self.latencies_ms.append(ms)
        self.items.append(items)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def percentile(self, share: float) -> float:
        """The nearest-rank percentile, in ms."""
        ordered = sorted(self.latencies_ms)
        return round(ordered[max(0, math.ceil(share * len(ordered)) - 1)], 2)

    @property
    def passed(self) -> bool:
        """Every answer a 200, and the statistic within its limit."""
        value = self.percentile(0.99) if self.by == "p99" else max(self.latencies_ms)
        return set(self.statuses) == {200} and value <= self.limit_ms

    def figures(self) -> dict[str, Any]:
        """As the JSON file keeps it, every answer's milliseconds and items included."""
        return {
            "requests": len(self.latencies_ms),
            "p50_ms": self.percentile(0.5),
            "p95_ms": self.percentile(0.95),
            "p99_ms": self.percentile(0.99),
            "max_ms": round(max(self.latencies_ms), 2),
            "mean_items": round(sum(self.items) / len(self.items), 1),
            "by_page_size": self.by_page_size() if self.paged else {},
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "target": self.target,
            "pass": self.passed,
            "slowest_request": self.slowest,
            "answers": [
                [round(ms, 2), n] for ms, n in zip(self.latencies_ms, self.items, strict=True)
            ],
        }

    def by_page_size(self) -> dict[str, dict[str, float]]:
        """Median and slowest answer of the short pages and of the full ones (PAGE_LIMIT)."""
        groups: dict[str, list[float]] = {}
        for ms, items in zip(self.latencies_ms, self.items, strict=True):
            name = "full pages" if items >= PAGE_LIMIT else f"pages under {PAGE_LIMIT}"
            groups.setdefault(name, []).append(ms)
        return {
            name: {
                "answers": len(values),
                "p50_ms": round(sorted(values)[len(values) // 2], 2),
                "max_ms": round(max(values), 2),
            }
            for name, values in sorted(groups.items())
        }
