"""Sealed session cookies of the JavaScript SDKs: iron's `Fe26.2` format, in Python.

authkit-nextjs keeps its session cookie (`wos-session`) and its PKCE state in iron-session 8
seals; @workos-inc/node seals `sealSession` cookies the same way (CONTRACT.md §5.4 and §9.1).
`seal_data` and `unseal_data` read and write those strings, so a Python service can share a
cookie with a Next.js or Node app that uses the same `WORKOS_COOKIE_PASSWORD`. A seal is::

    Fe26.2*<passwordId>*<encryptionSalt>*<iv>*<ciphertext>*<expiration>*<hmacSalt>*<hmac>~2

* `Fe26.2`: iron's MAC format, version 2.
* `passwordId`: which password sealed it. iron-session treats a single password as `{1: pw}`,
  and seals with the highest numeric id of a password map (rotation); unsealing picks the
  password by this id. An empty id is looked up as `default`.
* `encryptionSalt`, `hmacSalt`: 256 random bits each, as 64 lowercase hex characters. Each key
  is PBKDF2-HMAC-SHA1 of the password's UTF-8 bytes with the *hex string's* bytes as the salt,
  1 iteration, 256 bits.
* `iv`, `ciphertext`: the 128-bit IV and the AES-256-CBC (PKCS#7) encryption of the JSON text
  of the data, both base64url without padding.
* `expiration`: Unix milliseconds of the end of life, or empty when the seal never expires
  (ttl 0). It is refused once it is more than 60 s in the past (iron's clock skew).
* `hmac`: base64url HMAC-SHA256, keyed with the second derived key, of the first six parts
  joined with `*`. It is compared in constant time.
* `~2`: iron-session's version suffix, outside the HMAC. Without it (iron-session 6/7 cookies)
  iron-session returns the sealed object's `persistent` member instead of the object itself.

Passwords must be at least 32 characters, counted as JavaScript does (UTF-16 code units).
Errors: everything raised for a bad seal is a `SealInvalid` (`SealExpired` is one), which a web
app treats as "no session"; a bad password configuration is a `PasswordError`, a bug to fix.
Both are `SealError`s. Where iron-session's `unsealData` returns `{}` for an expired, altered
or unknown-password seal, `unseal_data` raises, so that the caller can tell why.

`unseal_fernet_session` reads the other format of §5.4: workos-python's Fernet-sealed sessions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Mapping
from typing import Any, TypeAlias

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "Password",
    "PasswordError",
    "PasswordTooShort",
    "SealError",
    "SealExpired",
    "SealInvalid",
    "seal_data",
    "unseal_data",
    "unseal_fernet_session",
]

Password: TypeAlias = str | Mapping[str, str] | Mapping[int, str]
"""One password (id `1`), or a map of password id to password for rotation."""

MIN_PASSWORD_LENGTH = 32
MAC_PREFIX = "Fe26.2"
SESSION_VERSION = 2  # iron-session's `~2` suffix
TIMESTAMP_SKEW_MS = 60_000
_SALT_BYTES = 32
_IV_BYTES = 16
_KEY_BYTES = 32
_PARTS = 8
_DEFAULT_ID = "default"
_NUMERIC_ID = re.compile(r"0|[1-9][0-9]*")
_EXPIRATION = re.compile(r"[1-9][0-9]*")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_LEADING_INT = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class SealError(Exception):
    """Base class of every error raised by this module."""


class SealInvalid(SealError):
    """The string is not a seal these passwords opened: malformed, altered, sealed with another
    password or with a password id that is not configured."""


class SealExpired(SealInvalid):
    """The seal is authentic but its expiration is more than 60 s in the past."""

    def __init__(self, message: str, expiration_ms: int) -> None:
        super().__init__(message)
        self.expiration_ms = expiration_ms


class PasswordError(SealError, ValueError):
    """The password configuration is unusable (empty map, ids iron-session cannot seal with)."""


class PasswordTooShort(PasswordError):
    """A password has fewer than 32 characters; iron refuses it."""


def seal_data(data: Any, password: Password, *, ttl: int = 0) -> str:
    """Seal a JSON value the way iron-session's `sealData(data, {password, ttl})` does.

    `ttl` is in seconds; 0 (the default here, and what authkit-nextjs uses for its session
    cookie) means the seal never expires. iron-session's own default is 14 days; authkit-nextjs
    seals its PKCE state with `ttl=600`. A password map seals with its highest numeric id.
    Raises `PasswordError` for an unusable password, and `TypeError` or `ValueError` (from
    `json`) when `data` is not JSON (NaN and infinities included).

    >>> cookie = seal_data({"accessToken": "eyJ..."}, "a password of at least 32 characters")
    >>> cookie.startswith("Fe26.2*1*") and cookie.endswith("~2")
    True
    """
    passwords = _password_map(password)
    _check_ttl(ttl)
    for password_id in passwords:
        if not _NUMERIC_ID.fullmatch(password_id):
            raise PasswordError(
                f"password id {password_id!r} is not a decimal integer; iron-session seals with "
                "the highest numeric id, so a password map needs ids such as '1', '2'"
            )
    password_id = max(passwords, key=int)
    expiration = str(_now_ms() + ttl * 1000) if ttl else ""
    seal = _seal(_json_bytes(data), password_id, passwords[password_id], expiration)
    return f"{seal}~{SESSION_VERSION}"


def unseal_data(seal: str, password: Password, *, ttl: int = 0) -> Any:
    """Open a seal the way iron-session's `unsealData(seal, {password, ttl})` does.

    The password is chosen by the id inside the seal: a single password is id `1`. The result
    is the sealed JSON value, with iron-session's quirks: a sealed `null` gives `{}`, and a seal
    without the `~2` suffix (iron-session 6/7) gives its `persistent` object. `ttl` is accepted
    for symmetry and, as in iron-session, does not matter here: the expiration is in the seal.
    Raises `SealExpired` or `SealInvalid` where iron-session would return `{}` or throw, and
    `PasswordError` for an unusable password.

    >>> secret = "a password of at least 32 characters"
    >>> unseal_data(seal_data({"nonce": "n-1"}, secret, ttl=600), secret)
    {'nonce': 'n-1'}
    >>> unseal_data(seal_data({"v": 1}, {1: "old " + secret, 2: secret}), {"2": secret})
    {'v': 1}
    """
    if not isinstance(seal, str):
        raise TypeError(f"a seal is a str, not {type(seal).__name__}")
    passwords = _password_map(password)
    _check_ttl(ttl)
    body, _, version = seal.partition("~")
    data = _unseal(body, passwords)
    if data is None:
        data = {}
    if _parse_int(version) == SESSION_VERSION:
        return data
    persistent = data.get("persistent") if isinstance(data, dict) else None
    return dict(persistent) if isinstance(persistent, dict) else {}


def unseal_fernet_session(data: str, key: str | bytes) -> Any:
    """Read a session sealed by workos-python (`workos.session.seal_data`, Fernet) without
    importing workos.

    `key` is the `cookie_password` given to workos-python: a Fernet key (32 random bytes,
    url-safe base64, 44 characters). Like workos-python, no age limit is applied. Raises
    `PasswordError` when `key` is not a Fernet key, `SealInvalid` when `data` was not sealed
    with it or is not JSON.

    >>> key = Fernet.generate_key()
    >>> unseal_fernet_session(Fernet(key).encrypt(b'{"access_token": "at"}').decode(), key)
    {'access_token': 'at'}
    """
    if not isinstance(data, str | bytes):
        raise TypeError(f"a sealed session is a str, not {type(data).__name__}")
    try:
        fernet = Fernet(key)
    except (ValueError, TypeError):
        raise PasswordError(
            "the key is not a Fernet key (32 random bytes, url-safe base64: 44 characters, "
            "e.g. Fernet.generate_key())"
        ) from None
    token = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if not token.isascii():
        raise SealInvalid("not a Fernet token: it has non-ASCII characters")
    try:
        plaintext = fernet.decrypt(token)
    except InvalidToken:
        raise SealInvalid(
            "not a Fernet token sealed with this key (altered, truncated or another key)"
        ) from None
    try:
        return json.loads(plaintext)
    except (ValueError, RecursionError):
        raise SealInvalid("the sealed session is not JSON") from None


def _seal(plaintext: bytes, password_id: str, password: str, expiration: str) -> str:
    encryption_salt = os.urandom(_SALT_BYTES).hex()
    iv = os.urandom(_IV_BYTES)
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    encryptor = _aes_cbc(password, encryption_salt, iv).encryptor()
    ciphertext = encryptor.update(padder.update(plaintext) + padder.finalize())
    ciphertext += encryptor.finalize()
    mac_base = "*".join(
        [MAC_PREFIX, password_id, encryption_salt, _b64(iv), _b64(ciphertext), expiration]
    )
    hmac_salt = os.urandom(_SALT_BYTES).hex()
    return f"{mac_base}*{hmac_salt}*{_mac(password, hmac_salt, mac_base)}"


def _unseal(body: str, passwords: dict[str, str]) -> Any:
    parts = body.split("*")
    if len(parts) != _PARTS:
        raise SealInvalid(f"a seal has {_PARTS} '*'-separated parts, this one has {len(parts)}")
    prefix, password_id, encryption_salt, iv, ciphertext, expiration, hmac_salt, digest = parts
    if prefix != MAC_PREFIX:
        raise SealInvalid(f"not a {MAC_PREFIX} seal")
    password = passwords.get(password_id or _DEFAULT_ID)
    if password is None:
        raise SealInvalid(f"no password with the seal's id {password_id or _DEFAULT_ID!r}")
    if not hmac_salt:
        raise SealInvalid("the seal has no HMAC salt")
    mac_base = "*".join(parts[:6])
    if not hmac.compare_digest(_mac(password, hmac_salt, mac_base).encode(), _utf8(digest)):
        raise SealInvalid("bad HMAC: the seal was altered or sealed with another password")
    # From here the parts are authentic: a failure means the sealer did not follow iron.
    if expiration:
        if not _EXPIRATION.fullmatch(expiration):
            raise SealInvalid("the seal's expiration is not a number of milliseconds")
        expiration_ms = int(expiration)
        if expiration_ms <= _now_ms() - TIMESTAMP_SKEW_MS:
            raise SealExpired("the seal has expired", expiration_ms)
    if not encryption_salt:
        raise SealInvalid("the seal has no encryption salt")
    iv_bytes = _b64decode(iv, "IV")
    if len(iv_bytes) != _IV_BYTES:
        raise SealInvalid(f"the seal's IV has {len(iv_bytes)} bytes instead of {_IV_BYTES}")
    ciphertext_bytes = _b64decode(ciphertext, "ciphertext")
    if not ciphertext_bytes or len(ciphertext_bytes) % _IV_BYTES:
        raise SealInvalid("the seal's ciphertext is not a whole number of AES blocks")
    decryptor = _aes_cbc(password, encryption_salt, iv_bytes).decryptor()
    unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
    try:
        padded = decryptor.update(ciphertext_bytes) + decryptor.finalize()
        plaintext = unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise SealInvalid("the seal does not decrypt (bad padding)") from None
    # TextDecoder's defaults: invalid UTF-8 becomes U+FFFD, a leading BOM is dropped.
    text = plaintext.decode("utf-8", "replace").removeprefix("\ufeff")
    if not text:
        return None  # iron-webcrypto 1.x returns null for an empty plaintext
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise SealInvalid("the sealed data is not JSON") from None


def _password_map(password: Password) -> dict[str, str]:
    """iron-session's `normalizeStringPasswordToMap`, with every password checked."""
    if isinstance(password, str):
        passwords = {"1": password}
    elif isinstance(password, Mapping):
        passwords = {str(password_id): secret for password_id, secret in password.items()}
    else:
        raise TypeError(f"a password is a str or a mapping, not {type(password).__name__}")
    if not passwords:
        raise PasswordError("the password map is empty")
    for password_id, secret in passwords.items():
        if not isinstance(secret, str):
            raise TypeError(f"password {password_id!r} is a {type(secret).__name__}, not a str")
        length = len(secret.encode("utf-16-le", "surrogatepass")) // 2  # JavaScript's .length
        if length < MIN_PASSWORD_LENGTH:
            raise PasswordTooShort(
                f"password {password_id!r} has {length} characters; iron needs at least "
                f"{MIN_PASSWORD_LENGTH}"
            )
    return passwords


def _check_ttl(ttl: int) -> None:
    if isinstance(ttl, bool) or not isinstance(ttl, int):
        raise TypeError(f"ttl is a whole number of seconds, not {type(ttl).__name__}")
    if ttl < 0:
        raise ValueError("ttl is a number of seconds, 0 for no expiry; it cannot be negative")


def _derive(password: str, salt: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha1", _utf8(password), _utf8(salt), 1, _KEY_BYTES)


def _aes_cbc(password: str, salt: str, iv: bytes) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(_derive(password, salt)), modes.CBC(iv))


def _mac(password: str, salt: str, mac_base: str) -> str:
    return _b64(hmac.digest(_derive(password, salt), _utf8(mac_base), "sha256"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise SealInvalid(f"the seal's {what} is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):  # pragma: no cover - excluded by the pattern above
        raise SealInvalid(f"the seal's {what} is not base64url") from None


def _utf8(text: str) -> bytes:
    """TextEncoder's bytes for a JavaScript string: lone surrogates become U+FFFD."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").encode()


def _json_bytes(data: Any) -> bytes:
    """JSON.stringify's text, as UTF-8."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        return text.encode()
    except UnicodeEncodeError:
        # A lone surrogate in a str: pair what pairs, escape the rest as JSON.stringify does.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
        return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match[0]):04x}", text).encode()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_int(text: str) -> int | None:
    """JavaScript's `parseInt(text, 10)`, None for NaN."""
    match = _LEADING_INT.match(text)
    return int(match[1]) if match else None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
