"""``spotcheck export``: an export bundle (DESIGN.md A9) of the stored log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from ledger.bundle import write_bundle
from ledger.errors import NotFoundError
from ledger.store.ledger import Ledger


def export_bundle(
    ledger: Ledger, out: Path, *, progress: Callable[[int], None] | None = None
) -> int:
    """Write entries ``0..size-1`` of the latest checkpoint, the checkpoint and the reports."""
    head = ledger.head()
    if head is None:
        raise NotFoundError("A9 export", "the log is empty: nothing to export")

    def lines() -> Iterator[bytes]:
        for index, data in ledger.backend.read_entries(0, head.size):
            if progress is not None and index % 1000 == 0:
                progress(index)
            yield data
        if progress is not None:
            progress(head.size)

    write_bundle(out, lines(), head.checkpoint, ledger.published_reports(head.size))
    return head.size
