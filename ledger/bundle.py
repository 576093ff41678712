"""Export bundles (DESIGN.md A9): write them, and read them back in bounded memory.

A bundle is a directory, or a ``.tar.gz`` of it with the names at its top
level and no enclosing folder:

- ``entries.jsonl``: entry i's canonical bytes on line i, each line ended by
  ``\\n``;
- ``checkpoint``: a signed checkpoint whose size is the number of lines;
- ``reports/<report id>.json``: published reports (C7) in canonical JSON,
  absent when none was published.

Reading streams ``entries.jsonl`` line by line (also out of a ``.tar.gz``),
so a verifier's memory does not grow with the bundle.  Nothing is ever
extracted to disk.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ledger.checkpoint import parse_checkpoint
from ledger.errors import FormatError

__all__ = [
    "CHECKPOINT",
    "ENTRIES",
    "REPORTS",
    "BundleReader",
    "is_tar_path",
    "open_bundle",
    "write_bundle",
]

ENTRIES = "entries.jsonl"
CHECKPOINT = "checkpoint"
REPORTS = "reports"
_REPORT_ID = re.compile(r"[^\x00-\x1f/\\]+")
_RULE = "A9 bundle"
_CHUNK = 1 << 20


def is_tar_path(path: Path) -> bool:
    """True when ``path`` names a ``.tar.gz`` bundle (A9)."""
    return path.name.endswith(".tar.gz")


def _check_report_id(report_id: str) -> str:
    if (
        not isinstance(report_id, str)
        or not _REPORT_ID.fullmatch(report_id)
        or report_id in (".", "..")
    ):
        raise FormatError(_RULE, f"report id {report_id!r} cannot name a file", field="reports")
    return report_id


def _checkpoint_size(note: str) -> int:
    """The size line of a signed checkpoint's body (A6), without checking the signature."""
    body, sep, _ = note.partition("\n\n")
    if not sep:
        raise FormatError(_RULE, "checkpoint is not a signed note", field="checkpoint")
    return parse_checkpoint(body + "\n").size


# ---------------------------------------------------------------------------
# Writing


def write_bundle(
    path: Path,
    entry_lines: Iterable[bytes],
    checkpoint_note: str,
    reports: Mapping[str, bytes],
) -> None:
    """Write an export bundle (A9) at ``path``: a directory, or a ``.tar.gz`` by its name.

    ``entry_lines`` are the entries' canonical bytes in index order (without
    newlines; they are streamed, never held together); ``reports`` maps
    report id to the report's canonical JSON bytes.  The bundle appears
    whole or not at all.  Raises ``FormatError`` when a line holds a newline,
    a report id cannot name a file, or the number of lines differs from the
    checkpoint's size; ``FileExistsError`` when ``path`` exists.
    """
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists")
    size = _checkpoint_size(checkpoint_note)
    for report_id in reports:
        _check_report_id(report_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_tar_path(path):
        _write_tar(path, entry_lines, checkpoint_note, reports, size)
    else:
        _write_dir(path, entry_lines, checkpoint_note, reports, size)


def _write_lines(out: IO[bytes], entry_lines: Iterable[bytes], size: int) -> None:
    count = 0
    for line in entry_lines:
        if b"\n" in line:
            raise FormatError(_RULE, f"entry {count} holds a newline", index=count)
        out.write(line)
        out.write(b"\n")
        count += 1
    if count != size:
        raise FormatError(_RULE, f"{count} entries, but the checkpoint's size is {size}",
                          field="checkpoint")


def _write_dir(
    path: Path, entry_lines: Iterable[bytes], note: str, reports: Mapping[str, bytes], size: int
) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        with open(tmp / ENTRIES, "wb") as out:
            _write_lines(out, entry_lines, size)
        (tmp / CHECKPOINT).write_text(note, encoding="utf-8", newline="")
        if reports:
            (tmp / REPORTS).mkdir()
            for report_id, body in reports.items():
                (tmp / REPORTS / f"{report_id}.json").write_bytes(body)
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _tar_add(tar: tarfile.TarFile, name: str, data: IO[bytes], size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    tar.addfile(info, data)


def _write_tar(
    path: Path, entry_lines: Iterable[bytes], note: str, reports: Mapping[str, bytes], size: int
) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        with tempfile.TemporaryFile() as spool:
            _write_lines(spool, entry_lines, size)
            length = spool.tell()
            spool.seek(0)
            with tarfile.open(tmp_name, "w:gz", format=tarfile.PAX_FORMAT) as tar:
                # The checkpoint first, so that a streaming reader meets it before the entries.
                raw = note.encode("utf-8")
                _tar_add(tar, CHECKPOINT, io.BytesIO(raw), len(raw))
                _tar_add(tar, ENTRIES, spool, length)
                if reports:
                    folder = tarfile.TarInfo(REPORTS)
                    folder.type = tarfile.DIRTYPE
                    folder.mode = 0o755
                    tar.addfile(folder)
                    for report_id, body in reports.items():
                        _tar_add(tar, f"{REPORTS}/{report_id}.json", io.BytesIO(body), len(body))
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------
# Reading


class BundleReader:
    """An open bundle (A9): the checkpoint text, streamed entry lines and report bytes.

    Use as a context manager, or call :meth:`close`.  Build it with
    :func:`open_bundle`.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._tar: tarfile.TarFile | None = None
        self._members: dict[str, tarfile.TarInfo] = {}
        self._scanned = True
        if is_tar_path(self.path):
            self._open_tar()
        elif not self.path.is_dir():
            raise FileNotFoundError(f"{self.path} is neither a bundle directory nor a .tar.gz")

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Turn a broken ``.tar.gz`` (bad header, corrupt deflate stream) into ``OSError``."""
        try:
            yield
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            raise OSError(f"{self.path}: not a readable .tar.gz: {exc}") from None

    def _open_tar(self) -> None:
        self._scanned = False
        try:
            with self._reading():
                self._tar = tarfile.open(self.path, "r:gz")  # noqa: SIM115 (see close())
        except OSError:
            self.close()
            raise

    def _member(self, name: str | None) -> tarfile.TarInfo | None:
        """The member ``name``, reading headers only as far as needed (None: read them all).

        A bundle written by :func:`write_bundle` has ``checkpoint`` and then
        ``entries.jsonl`` first, so entries stream without a second pass.
        """
        if self._tar is None:
            return None
        with self._reading():
            while (name is None or name not in self._members) and not self._scanned:
                info = self._tar.next()
                if info is None:
                    self._scanned = True
                elif info.isfile():
                    found = info.name[2:] if info.name.startswith("./") else info.name
                    self._members.setdefault(found, info)
        return self._members.get(name) if name is not None else None

    # -- files ---------------------------------------------------------------
    def _open(self, name: str) -> IO[bytes] | None:
        if self._tar is not None:
            member = self._member(name)
            if member is None:
                return None
            with self._reading():
                return self._tar.extractfile(member)
        file = self.path / name
        if not file.is_file():
            return None
        return open(file, "rb", buffering=_CHUNK)

    def _missing(self, name: str) -> FormatError:
        """The error for a missing top-level file, naming an enclosing folder if there is one."""
        self._member(None)
        nested = sorted(n for n in self._members if n.endswith(f"/{name}"))
        if nested:
            return FormatError(_RULE, f"the .tar.gz holds {nested[0]!r}: A9 wants the names "
                               "at its top level, with no enclosing folder", field=name)
        return FormatError(_RULE, f"the bundle has no {name} file", field=name)

    def has(self, name: str) -> bool:
        """True when the bundle holds the file ``name`` (e.g. ``checkpoint``)."""
        if self._tar is not None:
            return self._member(name) is not None
        return (self.path / name).is_file()

    @property
    def checkpoint(self) -> str:
        """The ``checkpoint`` file's text.  Raises ``FormatError`` if absent or not UTF-8."""
        stream = self._open(CHECKPOINT)
        if stream is None:
            raise self._missing(CHECKPOINT)
        with stream, self._reading():
            raw = stream.read(1 << 16)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError(_RULE, "checkpoint is not UTF-8", field="checkpoint") from None

    def lines(self) -> Iterator[bytes]:
        """Yield each line of ``entries.jsonl`` without its ``\\n``, in order, streaming.

        Raises ``FormatError`` (with the line's index) when the last line is
        not ended by ``\\n``, and when ``entries.jsonl`` is absent.
        """
        stream = self._open(ENTRIES)
        if stream is None:
            raise self._missing(ENTRIES)
        index = 0
        with stream, self._reading():
            for line in stream:
                if not line.endswith(b"\n"):
                    raise FormatError(_RULE, "the last line of entries.jsonl does not end "
                                      "with a newline", index=index)
                yield line[:-1]
                index += 1

    def report_ids(self) -> list[str]:
        """The ids of the reports in ``reports/``, sorted."""
        if self._tar is not None:
            self._member(None)
            names = [n for n in self._members if n.startswith(f"{REPORTS}/")]
        else:
            folder = self.path / REPORTS
            names = [f"{REPORTS}/{p.name}" for p in folder.iterdir()] if folder.is_dir() else []
        return sorted(n[len(REPORTS) + 1 : -5] for n in names if n.endswith(".json"))

    def report(self, report_id: str) -> bytes | None:
        """The bytes of ``reports/<report_id>.json``, or None when absent."""
        stream = self._open(f"{REPORTS}/{_check_report_id(report_id)}.json")
        if stream is None:
            return None
        with stream, self._reading():
            return stream.read()

    # -- lifetime ------------------------------------------------------------
    def close(self) -> None:
        """Close the underlying ``.tar.gz`` (a directory holds nothing open)."""
        if self._tar is not None:
            self._tar.close()
            self._tar = None

    def __enter__(self) -> BundleReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_bundle(path: Path) -> BundleReader:
    """Open the bundle at ``path`` (a directory or a ``.tar.gz``) for reading (A9).

    Raises ``FileNotFoundError``/``OSError`` when it cannot be read.
    """
    return BundleReader(Path(path))
