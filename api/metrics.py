"""Prometheus metrics of one server process (DESIGN.md B7), on a registry of its own.

- ``spotcheck_appends_total{type}``: entries appended, by entry type (A12);
- ``spotcheck_append_batch_seconds``: time of one group commit (``submit_many``);
- ``spotcheck_append_batch_size``: commands per group commit;
- ``spotcheck_commands_total{status}``: answers to commands, by HTTP status;
- ``spotcheck_tree_size``: the log's tree size as this process last saw it;
- ``spotcheck_http_request_seconds{method,route,status}``: request latency.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The collectors, registered on a fresh ``CollectorRegistry`` (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.appends = Counter("spotcheck_appends", "Entries appended, by entry type",
                               ["type"], registry=self.registry)
        self.batch_seconds = Histogram("spotcheck_append_batch_seconds",
                                       "Duration of one group commit (submit_many)",
                                       buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.batch_size = Histogram("spotcheck_append_batch_size", "Commands per group commit",
                                    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
                                    registry=self.registry)
        self.commands = Counter("spotcheck_commands", "Answers to commands, by HTTP status",
                                ["status"], registry=self.registry)
        self.tree_size = Gauge("spotcheck_tree_size", "Tree size of the log (entries)",
                               registry=self.registry)
        self.request_seconds = Histogram("spotcheck_http_request_seconds",
                                         "HTTP request latency",
                                         ["method", "route", "status"],
                                         buckets=_LATENCY_BUCKETS, registry=self.registry)

    def on_commit(self, entries: list[dict[str, Any]]) -> None:
        """``Ledger.on_commit`` listener: count entries by type, move the tree size."""
        for entry in entries:
            self.appends.labels(type=str(entry["type"])).inc()
        if entries:
            self.tree_size.set(int(entries[-1]["index"]) + 1)

    def on_batch(self, size: int, seconds: float) -> None:
        """``GroupCommitWriter`` observer."""
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
