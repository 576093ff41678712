"""The discipline dashboard's login by a signed challenge, and its session cookie (C8, A2, A7).

The server never holds staff private keys (A3), so a discipline inspector
proves who they are the same way they sign commands: with their Ed25519 key,
on their own device.

1. ``GET /discipline/login`` issues a random challenge (:class:`ChallengeStore`:
   kept on the server, valid for :data:`CHALLENGE_SECONDS`, usable once).
2. The inspector signs :func:`login_message` — ``"spotcheck-ledger/1 login\\n"``
   followed by the challenge, a domain separate from commands (A3 signs
   ``"spotcheck-ledger/1 command\\n" + ...``) — with the one-line command
   :data:`SIGN_COMMAND` and pastes the key id and the base64 signature.
3. :func:`check_login` accepts when the challenge is fresh and unused, the key
   is registered in the log (A7), not revoked, already valid, holds the role
   ``discipline`` (C8), and the signature verifies.
4. The server sets a session cookie (:class:`SessionSigner`): the key id and
   an expiry, HMAC-SHA256-signed with a secret generated when the app is
   built; ``HttpOnly``, ``SameSite=Strict``, path ``/discipline``.  Every
   dashboard request checks the MAC, the expiry and the key again, so a key
   revoked in the log loses the dashboard at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.keys import is_key_id
from ledger.replay import KeyInfo

__all__ = [
    "CHALLENGE_SECONDS",
    "COOKIE",
    "LOGIN_CONTEXT",
    "ROLE",
    "SESSION_SECONDS",
    "SIGN_COMMAND",
    "SIGN_COMMAND_CRYPTOGRAPHY",
    "ChallengeStore",
    "Login",
    "LoginRefused",
    "SessionSigner",
    "check_login",
    "discipline_key",
    "login_message",
]

LOGIN_CONTEXT = b"spotcheck-ledger/1 login\n"
"""Domain separation prefix of a login signature (never a valid command message, A3)."""
SESSION_CONTEXT = b"spotcheck-ledger/1 session\n"
ROLE = "discipline"
CHALLENGE_SECONDS = 300
SESSION_SECONDS = 3600
COOKIE = "spotcheck_discipline"
MAX_CHALLENGES = 4096

SIGN_COMMAND = (
    'python -c "import base64,sys; from ledger.keys import load_key_file; '
    "k=load_key_file(sys.argv[1]); print(k.key_id, base64.b64encode(k.sign("
    "b'spotcheck-ledger/1 login\\n'+sys.argv[2].encode())).decode())\" "
    "{keyfile} {challenge}"
)
"""The one-line signing command (with ``spotcheck-ledger`` installed); prints ``<key id> <sig>``."""

SIGN_COMMAND_CRYPTOGRAPHY = (
    'python -c "import base64,json,sys; from cryptography.hazmat.primitives.asymmetric.ed25519 '
    "import Ed25519PrivateKey as P; f=json.load(open(sys.argv[1])); print(f['key'], "
    "base64.b64encode(P.from_private_bytes(base64.b64decode(f['private_key'])).sign("
    "b'spotcheck-ledger/1 login\\n'+sys.argv[2].encode())).decode())\" "
    "{keyfile} {challenge}"
)
"""The same with only the ``cryptography`` package, reading the JSON key file directly."""


def login_message(challenge: str) -> bytes:
    """The bytes a login signs: ``"spotcheck-ledger/1 login\\n"`` + the challenge (UTF-8)."""
    return LOGIN_CONTEXT + challenge.encode("utf-8")


class LoginRefused(Exception):
    """A login or session that must be refused; ``message`` is shown to the person."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ChallengeStore:
    """Random login challenges kept on the server: short-lived and single use.

    At most :data:`MAX_CHALLENGES` are outstanding; beyond that the oldest are
    dropped (a flood of ``GET /discipline/login`` cannot grow memory).
    """

    def __init__(self, ttl: float = CHALLENGE_SECONDS, *,
                 clock: Callable[[], float] = time.monotonic,
                 capacity: int = MAX_CHALLENGES) -> None:
        self.ttl = ttl
        self.clock = clock
        self.capacity = capacity
        self._issued: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self) -> str:
        """A new challenge (32 lowercase hex characters from ``secrets``)."""
        challenge = secrets.token_hex(16)
        with self._lock:
            now = self.clock()
            while self._issued and (next(iter(self._issued.values())) <= now
                                    or len(self._issued) >= self.capacity):
                self._issued.popitem(last=False)
            self._issued[challenge] = now + self.ttl
        return challenge

    def take(self, challenge: str) -> bool:
        """Use ``challenge`` up: True when it was issued, unused and not expired."""
        with self._lock:
            expires = self._issued.pop(challenge, None)
        return expires is not None and self.clock() < expires


class SessionSigner:
    """Session cookies ``<payload>.<mac>``: base64url JSON ``{"key", "exp"}``, its HMAC-SHA256."""

    def __init__(self, secret: bytes | None = None, ttl: int = SESSION_SECONDS, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.secret = secret if secret is not None else secrets.token_bytes(32)
        self.ttl = ttl
        self.clock = clock

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self.secret, SESSION_CONTEXT + payload, hashlib.sha256).digest()

    def issue(self, key_id: str) -> str:
        """A cookie value for ``key_id``, valid for ``ttl`` seconds."""
        body = json.dumps({"exp": int(self.clock()) + self.ttl, "key": key_id},
                          separators=(",", ":")).encode()
        payload = base64.urlsafe_b64encode(body).rstrip(b"=")
        mac = base64.urlsafe_b64encode(self._mac(payload)).rstrip(b"=")
        return (payload + b"." + mac).decode("ascii")

    def read(self, value: str | None) -> str | None:
        """The key id of a valid, unexpired cookie value; None for anything else."""
        if not value or value.count(".") != 1:
            return None
        payload_text, mac_text = value.split(".")
        try:
            payload = payload_text.encode("ascii")
            mac = base64.urlsafe_b64decode(mac_text + "=" * (-len(mac_text) % 4))
            if not hmac.compare_digest(mac, self._mac(payload)):
                return None
            body = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
        except (UnicodeEncodeError, binascii.Error, ValueError):
            return None
        if not isinstance(body, dict):
            return None
        expires, key = body.get("exp"), body.get("key")
        if not isinstance(expires, int) or not isinstance(key, str) or expires <= self.clock():
            return None
        return key


@dataclass(frozen=True)
class Login:
    """A key that may see the dashboard, and its holder's name (A7 ``holder``)."""

    key: str
    name: str


def discipline_key(keys: Mapping[str, KeyInfo], key_id: str, now: datetime) -> Login:
    """The key ``key_id`` if it is registered, valid, unrevoked and holds ``discipline``."""
    if not is_key_id(key_id):
        raise LoginRefused("密钥编号应为 16 位小写十六进制字符。", 400)
    info = keys.get(key_id)
    if info is None:
        raise LoginRefused(f"密钥 {key_id} 未在日志中登记。")
    if info.revoked_at is not None:
        raise LoginRefused(f"密钥 {key_id} 已于日志记录 #{info.revoked_at} 吊销。")
    if info.valid_from > now:
        raise LoginRefused(f"密钥 {key_id} 尚未生效。")
    if ROLE not in info.roles:
        roles = "、".join(sorted(info.roles)) or "无"
        raise LoginRefused(f"密钥 {key_id} 没有 discipline（纪检监督）角色（现有角色：{roles}）。")
    return Login(key_id, str(info.holder.get("name") or key_id))


def check_login(
    keys: Mapping[str, KeyInfo],
    challenges: ChallengeStore,
    *,
    challenge: str,
    key_id: str,
    signature: str,
    now: datetime,
) -> Login:
    """Accept a login (see the module docstring) or raise :class:`LoginRefused`.

    The challenge is used up first, whatever follows: a refused attempt
    cannot be retried with the same challenge.
    """
    if not challenges.take(challenge):
        raise LoginRefused("挑战码无效、已过期或已使用，请重新获取挑战码。")
    login = discipline_key(keys, key_id.strip(), now)
    text = "".join(signature.split())
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise LoginRefused("签名应为标准 base64 编码。", 400) from None
    if len(raw) != 64:
        raise LoginRefused(f"签名解码后为 {len(raw)} 字节，Ed25519 签名应为 64 字节。", 400)
    try:
        Ed25519PublicKey.from_public_bytes(keys[login.key].public_key).verify(
            raw, login_message(challenge))
    except InvalidSignature:
        raise LoginRefused("签名验证失败：请用该密钥对本页显示的挑战码签名。") from None
    return login
