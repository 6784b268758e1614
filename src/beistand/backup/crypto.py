"""Encrypted, authenticated archive stream: AES-256-GCM in chunks (the STREAM construction).

File layout::

    header   MAGIC (8) | scrypt log2(n), r, p (3) | salt (16) | nonce prefix (7)
             | chunk size (4, big-endian) | key check (16)
    chunks   flag (1: 0 = more follow, 1 = last) | length (4) | AES-GCM ciphertext + tag

The key comes from ``BEISTAND_BACKUP_KEY`` (a passphrase); each file derives its own 256-bit
encryption key and a check key from it with scrypt and a random salt. The key check (HMAC of the
header) tells a wrong key apart from a damaged file before anything is decrypted. Chunk ``i`` is
encrypted with the nonce ``prefix | i | flag`` and the whole header as associated data, so a
changed header, re-ordered, dropped or appended chunks and a cut-off end all fail
authentication.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"BSTBAK\x00\x01"
CHUNK = 1024 * 1024
SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P = 15, 8, 1
MIN_KEY_LENGTH = 20
_HEAD = struct.Struct(">8sBBB16s7sI")
HEADER_SIZE = _HEAD.size + 16


class BackupKeyError(ValueError):
    """The key is missing, too short, or not the one the archive was written with."""


class ArchiveDamaged(ValueError):
    """The archive is not a beistand backup, or was changed or cut off."""


def check_key(key: str | None) -> str:
    key = (key or "").strip()
    if not key:
        raise BackupKeyError("BEISTAND_BACKUP_KEY ist nicht gesetzt: ohne Schlüssel keine "
                             "Sicherung und keine Wiederherstellung.")
    if len(key) < MIN_KEY_LENGTH:
        raise BackupKeyError(f"BEISTAND_BACKUP_KEY ist zu kurz (mindestens {MIN_KEY_LENGTH} "
                             "Zeichen; „beistand backup --new-key“ erzeugt einen).")
    return key


def _derive(key: str, salt: bytes, log2n: int, r: int, p: int) -> tuple[bytes, bytes]:
    if not (10 <= log2n <= 22 and 1 <= r <= 32 and 1 <= p <= 16):
        raise ArchiveDamaged("Ungültige Schlüsselparameter im Kopf der Datei.")
    material = Scrypt(salt=salt, length=64, n=2 ** log2n, r=r, p=p).derive(key.encode())
    return material[:32], material[32:]


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= 2 ** 32:
        raise ArchiveDamaged("Zu viele Blöcke.")
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """A write-only file object: ``tarfile.open(fileobj=..., mode="w|")`` streams into it."""

    def __init__(self, raw, key: str, chunk_size: int = CHUNK):
        self.raw = raw
        salt, self.prefix = os.urandom(16), os.urandom(7)
        enc_key, mac_key = _derive(check_key(key), salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P)
        head = _HEAD.pack(MAGIC, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P, salt, self.prefix,
                          chunk_size)
        self.header = head + hmac.new(mac_key, head, hashlib.sha256).digest()[:16]
        self.aead = AESGCM(enc_key)
        self.chunk_size = chunk_size
        self.buffer = bytearray()
        self.index = 0
        self.closed = False
        raw.write(self.header)

    def _emit(self, data: bytes, last: bool) -> None:
        sealed = self.aead.encrypt(_nonce(self.prefix, self.index, last), data, self.header)
        self.raw.write((b"\x01" if last else b"\x00") + struct.pack(">I", len(sealed)))
        self.raw.write(sealed)
        self.index += 1

    def write(self, data) -> int:
        self.buffer += data
        # Keep at least one byte back: the final chunk must be written with the last flag.
        while len(self.buffer) > self.chunk_size:
            self._emit(bytes(self.buffer[:self.chunk_size]), last=False)
            del self.buffer[:self.chunk_size]
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self.buffer), last=True)
            self.buffer.clear()
            self.closed = True


class DecryptingReader:
    """A read-only file object over an archive; every chunk is authenticated before use."""

    def __init__(self, raw, key: str):
        self.raw = raw
        header = raw.read(HEADER_SIZE)
        if len(header) < HEADER_SIZE or not header.startswith(MAGIC[:6]):
            raise ArchiveDamaged("Die Datei ist keine beistand-Sicherung.")
        magic, log2n, r, p, salt, self.prefix, self.chunk_size = _HEAD.unpack(
            header[:_HEAD.size])
        if magic != MAGIC:
            raise ArchiveDamaged("Unbekannte Version des Sicherungsformats.")
        enc_key, mac_key = _derive(check_key(key), salt, log2n, r, p)
        expected = hmac.new(mac_key, header[:_HEAD.size], hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(expected, header[_HEAD.size:]):
            raise BackupKeyError("Falscher Schlüssel: BEISTAND_BACKUP_KEY passt nicht zu dieser "
                                 "Sicherung (oder ihr Kopf wurde verändert).")
        self.header = header
        self.aead = AESGCM(enc_key)
        self.index = 0
        self.done = False
        self.buffer = b""
        self.pos = 0

    def _next_chunk(self) -> bytes:
        meta = self.raw.read(5)
        if len(meta) < 5:
            raise ArchiveDamaged("Die Sicherung ist unvollständig (abgeschnitten).")
        flag, length = meta[0], struct.unpack(">I", meta[1:])[0]
        if flag not in (0, 1) or length > self.chunk_size + 16:
            raise ArchiveDamaged("Die Sicherung ist beschädigt oder wurde verändert.")
        sealed = self.raw.read(length)
        if len(sealed) < length:
            raise ArchiveDamaged("Die Sicherung ist unvollständig (abgeschnitten).")
        try:
            data = self.aead.decrypt(_nonce(self.prefix, self.index, flag == 1), sealed,
                                     self.header)
        except InvalidTag:
            raise ArchiveDamaged(f"Die Sicherung ist beschädigt oder wurde verändert "
                                 f"(Block {self.index + 1}).") from None
        self.index += 1
        if flag == 1:
            self.done = True
            if self.raw.read(1):
                raise ArchiveDamaged("Die Sicherung hat Daten nach ihrem Ende (verändert).")
        return data

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while size < 0 or len(out) < size:
            if self.pos >= len(self.buffer):
                if self.done:
                    break
                self.buffer, self.pos = self._next_chunk(), 0
                continue
            take = len(self.buffer) - self.pos if size < 0 else min(size - len(out),
                                                                   len(self.buffer) - self.pos)
            out += self.buffer[self.pos:self.pos + take]
            self.pos += take
        return bytes(out)

    def drain(self) -> None:
        """Read (and authenticate) up to the last chunk, e.g. after tarfile stopped early."""
        while not self.done:
            self._next_chunk()
