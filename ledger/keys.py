"""Ed25519 keys, key ids and key files (DESIGN.md A2).

A key's id is the lowercase hex of the first 8 bytes of SHA-256 of its raw
32-byte public key.  Key files are JSON, written with mode 0600; nothing here
ever prints a private key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.errors import FormatError

KEY_FILE_FORMAT = "spotcheck-key/1"
_KEY_ID = re.compile(r"[0-9a-f]{16}")


def key_id(public_key: bytes) -> str:
    """A2: lowercase hex of the first 8 bytes of SHA-256(raw public key)."""
    return hashlib.sha256(public_key).digest()[:8].hex()


def is_key_id(text: object) -> bool:
    """True for a 16-character lowercase hex key id."""
    return isinstance(text, str) and _KEY_ID.fullmatch(text) is not None


def b64encode(data: bytes) -> str:
    """Standard base64 with padding (A1)."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: object, *, field: str, length: int | None = None) -> bytes:
    """Decode canonical standard base64 (A1): padding, no line breaks, unused bits zero."""
    if not isinstance(text, str):
        raise FormatError("A1 base64", "expected a base64 string", field=field)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise FormatError("A1 base64", "not standard base64", field=field) from None
    if base64.b64encode(data).decode("ascii") != text:
        raise FormatError("A1 base64", "not the canonical base64 form", field=field)
    if length is not None and len(data) != length:
        raise FormatError(
            "A1 base64", f"decodes to {len(data)} bytes, expected {length}", field=field
        )
    return data


def raw_public_key(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The raw 32 bytes of a public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def load_public_key(raw: bytes, field: str = "public_key") -> Ed25519PublicKey:
    """Build a public key from 32 raw bytes; FormatError if it is not a valid point."""
    if len(raw) != 32:
        raise FormatError("A2 key", f"public key is {len(raw)} bytes, expected 32", field=field)
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise FormatError("A2 key", "not an Ed25519 public key", field=field) from None


@dataclass(frozen=True)
class KeyPair:
    """A named Ed25519 private key as held on a person's own device."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return raw_public_key(self.private_key)

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    @property
    def public_key_b64(self) -> str:
        return b64encode(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    @classmethod
    def generate(cls, name: str) -> KeyPair:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> KeyPair:
        """Deterministic key from a 32-byte seed (tests and the sample season)."""
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    def seed(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        return self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def save_key_file(path: Path, pair: KeyPair) -> None:
    """Write ``pair`` as a JSON key file with mode 0600 (created that way, never widened)."""
    body = {
        "format": KEY_FILE_FORMAT,
        "name": pair.name,
        "key": pair.key_id,
        "public_key": pair.public_key_b64,
        "private_key": b64encode(pair.seed()),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(body, out, ensure_ascii=False, indent=2)
        out.write("\n")
    os.chmod(path, 0o600)


def load_key_file(path: Path) -> KeyPair:
    """Read a key file written by :func:`save_key_file`; FormatError names what is wrong."""
    try:
        body = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FormatError("key file", f"cannot read {path}: {exc}", field="keyfile") from None
    if not isinstance(body, dict) or body.get("format") != KEY_FILE_FORMAT:
        raise FormatError("key file", f"{path} is not a {KEY_FILE_FORMAT} key file")
    seed = b64decode(body.get("private_key"), field="private_key", length=32)
    pair = KeyPair.from_seed(str(body.get("name", "")), seed)
    if body.get("key") != pair.key_id:
        raise FormatError("key file", f"{path}: key id does not match the private key", field="key")
    return pair


def ensure_key(path: Path, name: str) -> KeyPair:
    """The key in ``path``, generated (mode 0600) when the file does not exist."""
    if path.exists():
        return load_key_file(path)
    pair = KeyPair.generate(name)
    save_key_file(path, pair)
    return pair
