"""The archive stream: round trip, wrong key, and every kind of tampering fails clearly."""

import io
import os

import pytest

from beistand.backup.crypto import (
    HEADER_SIZE,
    ArchiveDamaged,
    BackupKeyError,
    DecryptingReader,
    EncryptingWriter,
    check_key,
)

KEY = "ein-langer-test-schluessel-0123456789"


def seal(data: bytes, chunk=64, key=KEY) -> bytes:
    raw = io.BytesIO()
    writer = EncryptingWriter(raw, key, chunk_size=chunk)
    for start in range(0, len(data), 50):  # writes of another size than the chunks
        writer.write(data[start:start + 50])
    writer.close()
    return raw.getvalue()


def unseal(blob: bytes, key=KEY) -> bytes:
    reader = DecryptingReader(io.BytesIO(blob), key)
    data = reader.read()
    reader.drain()
    return data


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 640, 1000])
def test_round_trip_in_chunks(size):
    data = os.urandom(size)
    blob = seal(data)
    assert unseal(blob) == data
    assert data[:16] not in blob[HEADER_SIZE:] or size < 16


def test_reads_in_small_pieces():
    data = os.urandom(500)
    reader = DecryptingReader(io.BytesIO(seal(data)), KEY)
    got = b"".join(iter(lambda: reader.read(7), b""))
    assert got == data


def test_each_file_has_its_own_salt_and_nonces():
    assert seal(b"x" * 100)[:HEADER_SIZE] != seal(b"x" * 100)[:HEADER_SIZE]


def test_wrong_key_is_named_as_such():
    blob = seal(b"geheim" * 50)
    with pytest.raises(BackupKeyError, match="Falscher Schlüssel"):
        unseal(blob, key="ein-ganz-anderer-schluessel-987654")


def test_missing_or_short_key_is_refused():
    with pytest.raises(BackupKeyError, match="nicht gesetzt"):
        check_key("")
    with pytest.raises(BackupKeyError, match="zu kurz"):
        check_key("kurz")


@pytest.mark.parametrize("where", ["header", "first", "middle", "last"])
def test_a_changed_byte_fails(where):
    data = os.urandom(300)
    blob = bytearray(seal(data))
    pos = {"header": 12, "first": HEADER_SIZE + 10, "middle": len(blob) // 2,
           "last": len(blob) - 3}[where]
    blob[pos] ^= 0x01
    with pytest.raises((ArchiveDamaged, BackupKeyError)):
        unseal(bytes(blob))


def test_cut_off_or_extended_archives_fail():
    blob = seal(os.urandom(300))
    chunk = 1 + 4 + 64 + 16
    with pytest.raises(ArchiveDamaged, match="unvollständig"):
        unseal(blob[:-chunk])  # a whole chunk dropped at the end
    with pytest.raises(ArchiveDamaged):
        unseal(blob[:-5])
    with pytest.raises(ArchiveDamaged, match="nach ihrem Ende"):
        unseal(blob + b"\x00")


def test_reordered_chunks_fail():
    blob = seal(os.urandom(64 * 3 + 10))
    chunk = 1 + 4 + 64 + 16
    first = HEADER_SIZE
    swapped = (blob[:first] + blob[first + chunk:first + 2 * chunk] + blob[first:first + chunk]
               + blob[first + 2 * chunk:])
    with pytest.raises(ArchiveDamaged):
        unseal(swapped)


def test_not_a_backup():
    with pytest.raises(ArchiveDamaged, match="keine beistand-Sicherung"):
        unseal(b"PK\x03\x04" + b"\x00" * 100)
