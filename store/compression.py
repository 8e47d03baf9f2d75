"""zstd compression of backup files. A module of its own that imports nothing heavy: the
process store.backup.compress_elsewhere starts to read a live database file starts fast."""

from __future__ import annotations

import os
from pathlib import Path

from store.errors import DatabaseError, Refused

ZSTD_LEVEL = 1  # about a third of the size, at several hundred MB/s a core
CHUNK = 4 << 20
# Written data is synced every so often, not all at the end: one sync of hundreds of MB holds
# up the file system's journal, and with it every commit of the shop's database (130 ms).
SYNC_EVERY = 32 << 20


def compress(source: Path, target: Path, level: int = ZSTD_LEVEL,
             length: int | None = None) -> None:
    """zstd-compress a file, or its first `length` bytes (with a checksum), on every core."""
    import zstandard

    size = source.stat().st_size if length is None else length
    threads = max(1, min(os.cpu_count() or 1, 8))
    compressor = zstandard.ZstdCompressor(level=level, threads=threads, write_checksum=True)
    with open(source, "rb") as reader, open(target, "wb") as out, \
            compressor.stream_writer(out, size=size, write_size=CHUNK, closefd=False) as writer:
        left = size
        synced = 0
        while left:
            chunk = reader.read(min(CHUNK, left))
            if not chunk:
                raise DatabaseError(f"{source} ended {left:,} bytes early while being copied")
            writer.write(chunk)
            left -= len(chunk)
            if out.tell() - synced >= SYNC_EVERY:  # a little at a time: see SYNC_EVERY
                out.flush()
                os.fdatasync(out.fileno())
                synced = out.tell()


def decompress(source: Path, target: Path) -> None:
    """Undo `compress`; a damaged file (its checksum) or a cut one is refused."""
    import zstandard

    stream = zstandard.ZstdDecompressor().decompressobj()
    try:
        with open(source, "rb") as reader, open(target, "wb") as writer:
            for chunk in iter(lambda: reader.read(CHUNK), b""):
                writer.write(stream.decompress(chunk))
    except zstandard.ZstdError as exc:
        raise Refused(f"{source} is damaged (zstd: {exc}); restore another backup") from None
    if not stream.eof:
        raise Refused(f"{source} is cut short (its end is missing); restore another backup")
