"""iron's Fe26.2 seals (authkeep.integrations.sealing) against the real npm packages: iron-session
8.0.4 as authkit-nextjs 4.3 uses it, iron-webcrypto 1.2.1 and 2.0.0, and @workos-inc/node 11's
sealData/unsealData (tests/integrations/iron/iron.mjs runs them on the system Node). Also
round trips, tampering, expiry, passwords, malformed input, and workos-python's Fernet sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from workos.session import seal_data as workos_seal_data

from authkeep.integrations import sealing
from authkeep.integrations.sealing import (
    PasswordError,
    PasswordTooShort,
    SealError,
    SealExpired,
    SealInvalid,
    seal_data,
    unseal_data,
    unseal_fernet_session,
)

IRON = Path(__file__).resolve().parent / "iron"
SCRIPT = IRON / "iron.mjs"
PINNED = {"iron-session": "8.0.4", "iron-webcrypto": "1.2.1", "iron-webcrypto-2": "2.0.0"}
PASSWORD = "authkeep-iron-test-cookie-password-0123456789"
OTHER = "another-cookie-password-of-32-chars-or-more!!"
SESSION = {
    "accessToken": "eyJhbGciOiJSUzI1NiJ9.eyJzaWQiOiJzZXNzaW9uXzAxIn0.c2ln",
    "refreshToken": "rt_0123456789abcdef",
    "user": {
        "object": "user",
        "id": "user_01HZZZZZZZZZZZZZZZZZZZZZZZ",
        "email": "zoë@example.com",
        "firstName": "Zoë 😀",
        "lastName": None,
        "emailVerified": True,
        "metadata": {},
    },
    "impersonator": {"email": "admin@example.com", "reason": None},
    "authenticationMethod": "Password",
}
VALUES: list[Any] = [
    SESSION,
    {"nonce": "n", "codeVerifier": "v" * 43, "returnPathname": "/a?b=c&d=é"},
    [1, 2.5, -3, True, False, None, "", "\u2028", '\\"*~'],
    "a string",
    12345,
    1.5e300,
    True,
    [],
    {"lone surrogate": "\ud800", "pair": "\U0001f600", "nul": "\x00"},
]
SEAL = re.compile(
    r"Fe26\.2\*(?P<id>\w*)\*(?P<salt>[0-9a-f]{64})\*(?P<iv>[A-Za-z0-9_-]{22})"
    r"\*(?P<ciphertext>[A-Za-z0-9_-]+)\*(?P<expiration>[0-9]*)\*(?P<hmac_salt>[0-9a-f]{64})"
    r"\*(?P<hmac>[A-Za-z0-9_-]{43})~2"
)


# --- the Node side -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node_binary() -> str:
    missing = [name for name in PINNED if not (IRON / "node_modules" / name).is_dir()]
    if missing:
        pytest.fail(
            f"tests/integrations/iron/node_modules lacks {', '.join(missing)}: run "
            "`npm ci --prefix tests/integrations/iron`",
            pytrace=False,
        )
    for name, version in PINNED.items():
        manifest = json.loads((IRON / "node_modules" / name / "package.json").read_text())
        if manifest["version"] != version:
            pytest.fail(
                f"tests/integrations/iron/node_modules has {name} {manifest['version']}, not the "
                f"pinned {version}: run `npm ci --prefix tests/integrations/iron`",
                pytrace=False,
            )
    binary = shutil.which("node")
    if binary is None:
        pytest.fail("the iron interop tests need `node` (20 or later) on PATH", pytrace=False)
    return binary


@pytest.fixture
def node(node_binary: str) -> Any:
    def run(*operations: dict[str, Any]) -> list[dict[str, Any]]:
        done = subprocess.run(
            [node_binary, str(SCRIPT)],
            cwd=IRON,
            input=json.dumps(list(operations)),
            env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"iron.mjs failed:\n{done.stderr[-4000:]}"
        output = json.loads(done.stdout)
        major = int(output["node"].lstrip("v").split(".")[0])
        assert major >= 20, f"iron-session needs Node 20 or later, `node` is {output['node']}"
        return output["results"]

    return run


def ok(result: dict[str, Any]) -> Any:
    assert "error" not in result, result["error"]
    return result["ok"]


# --- an independent reading of the format, for forged and checked seals -------------------


def derive(password: str, salt: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha1", password.encode(), salt.encode(), 1, 32)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def with_mac(mac_base: str, password: str = PASSWORD, suffix: str = "~2") -> str:
    """Complete six parts with a correct HMAC: an authentic seal of whatever they say."""
    salt = "ab" * 32
    digest = b64(hmac.digest(derive(password, salt), mac_base.encode(), "sha256"))
    return f"{mac_base}*{salt}*{digest}{suffix}"


def forge(
    plaintext: bytes,
    *,
    password: str = PASSWORD,
    password_id: str = "1",
    expiration: str = "",
    salt: str = "cd" * 32,
    iv: str | None = None,
    ciphertext: str | None = None,
) -> str:
    iv_bytes = b"\x07" * 16
    if ciphertext is None:
        padder = padding.PKCS7(128).padder()
        encryptor = Cipher(algorithms.AES(derive(password, salt)), modes.CBC(iv_bytes)).encryptor()
        padded = padder.update(plaintext) + padder.finalize()
        ciphertext = b64(encryptor.update(padded) + encryptor.finalize())
    iv = b64(iv_bytes) if iv is None else iv
    return with_mac(f"Fe26.2*{password_id}*{salt}*{iv}*{ciphertext}*{expiration}", password)


def fields(seal: str) -> re.Match[str]:
    match = SEAL.fullmatch(seal)
    assert match, f"not an iron-session seal: {seal!r}"
    return match


def open_seal(seal: str, password: str = PASSWORD) -> Any:
    """Check and decrypt a seal by the spec alone (CONTRACT.md §5.4), not with the module."""
    match = fields(seal)
    mac_base = seal.removesuffix("~2").rsplit("*", 2)[0]
    expected = hmac.digest(derive(password, match["hmac_salt"]), mac_base.encode(), "sha256")
    assert b64(expected) == match["hmac"]
    key = derive(password, match["salt"])
    decryptor = Cipher(algorithms.AES(key), modes.CBC(b64decode(match["iv"]))).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    padded = decryptor.update(b64decode(match["ciphertext"])) + decryptor.finalize()
    return json.loads(unpadder.update(padded) + unpadder.finalize())


def now_ms() -> int:
    return sealing._now_ms()


# --- interop with npm ----------------------------------------------------------------------


def test_node_iron_session_seals_python_unseals(node: Any) -> None:
    results = node(
        *({"op": "session.seal", "data": value, "password": PASSWORD, "ttl": 0} for value in VALUES)
    )
    for value, result in zip(VALUES, results, strict=True):
        seal = ok(result)
        match = fields(seal)
        assert match["id"] == "1" and match["expiration"] == "", seal
        assert unseal_data(seal, PASSWORD) == value
        assert open_seal(seal) == value


def test_python_seals_node_iron_session_and_workos_node_unseal(node: Any) -> None:
    seals = [seal_data(value, PASSWORD) for value in VALUES]
    for seal, value in zip(seals, VALUES, strict=True):
        match = fields(seal)
        assert match["id"] == "1" and match["expiration"] == "", seal
        assert open_seal(seal) == value
    results = node(
        # authkit-nextjs: unsealData(cookie, {password}) and the session's ttl 0
        *({"op": "session.unseal", "seal": seal, "password": PASSWORD} for seal in seals),
        *({"op": "session.unseal", "seal": s, "password": PASSWORD, "ttl": 0} for s in seals),
        *({"op": "workos.unseal", "seal": seal, "password": PASSWORD} for seal in seals),
    )
    assert [ok(result) for result in results] == VALUES * 3


def test_workos_node_seals_python_unseals(node: Any) -> None:
    results = node(*({"op": "workos.seal", "data": v, "password": PASSWORD} for v in VALUES))
    for value, result in zip(VALUES, results, strict=True):
        assert fields(ok(result))
        assert unseal_data(ok(result), PASSWORD) == value


def test_rotation_both_ways(node: Any) -> None:
    passwords = {"1": OTHER, "2": PASSWORD}
    node_seal = ok(node({"op": "session.seal", "data": SESSION, "password": passwords})[0])
    assert node_seal.split("*")[1] == "2"  # the highest id seals
    assert unseal_data(node_seal, passwords) == SESSION
    assert unseal_data(node_seal, {2: PASSWORD}) == SESSION
    for wrong in (PASSWORD, {"1": OTHER}, {"2": OTHER}):  # a str is {1: password}
        with pytest.raises(SealInvalid):
            unseal_data(node_seal, wrong)

    python_seal = seal_data(SESSION, {1: OTHER, 2: PASSWORD})
    assert python_seal.split("*")[1] == "2"
    old_seal = seal_data(SESSION, OTHER)
    assert old_seal.split("*")[1] == "1"
    results = node(
        {"op": "session.unseal", "seal": python_seal, "password": {"2": PASSWORD}},
        {"op": "session.unseal", "seal": python_seal, "password": passwords},
        {"op": "session.unseal", "seal": old_seal, "password": passwords},
        {"op": "session.unseal", "seal": python_seal, "password": PASSWORD},
        {"op": "session.unseal", "seal": python_seal, "password": {"1": OTHER}},
    )
    assert [ok(result) for result in results] == [SESSION, SESSION, SESSION, {}, {}]


def test_rotation_picks_the_numerically_highest_id(node: Any) -> None:
    passwords = {"2": OTHER, "10": PASSWORD}
    assert seal_data(1, passwords).split("*")[1] == "10"
    node_seal = ok(node({"op": "session.seal", "data": 1, "password": passwords})[0])
    assert node_seal.split("*")[1] == "10"
    assert unseal_data(node_seal, {"10": PASSWORD}) == 1


def test_ttl_both_ways(node: Any) -> None:
    state = VALUES[1]
    before = now_ms()
    node_seal, node_session_seal = (
        ok(result)
        for result in node(
            {"op": "session.seal", "data": state, "password": PASSWORD, "ttl": 600},
            {"op": "session.seal", "data": state, "password": PASSWORD},  # default: 14 days
        )
    )
    after = now_ms()
    expiration = int(fields(node_seal)["expiration"])
    assert before + 600_000 <= expiration <= after + 600_000
    assert unseal_data(node_seal, PASSWORD, ttl=600) == state
    assert unseal_data(node_session_seal, PASSWORD) == state

    before = now_ms()
    python_seal = seal_data(state, PASSWORD, ttl=600)
    expiration = int(fields(python_seal)["expiration"])
    assert before + 600_000 <= expiration <= now_ms() + 600_000
    results = node(
        {"op": "session.unseal", "seal": python_seal, "password": PASSWORD, "ttl": 600},
        {"op": "iron1.unseal", "seal": python_seal[:-2], "password": {"1": PASSWORD}},
        {"op": "iron2.unseal", "seal": python_seal[:-2], "password": {"1": PASSWORD}},
    )
    assert [ok(result) for result in results] == [state] * 3


def test_expiry_and_clock_skew_agree_with_node(node: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real = now_ms()
    # Sealed 80 s ago for 10 s: 70 s past its expiration, beyond the 60 s skew.
    monkeypatch.setattr(sealing, "_now_ms", lambda: real - 80_000)
    expired = seal_data(SESSION, PASSWORD, ttl=10)
    # Sealed 65 s ago for 10 s: 55 s past its expiration, still within the skew.
    monkeypatch.setattr(sealing, "_now_ms", lambda: real - 65_000)
    within_skew = seal_data(SESSION, PASSWORD, ttl=10)
    monkeypatch.undo()
    with pytest.raises(SealExpired) as caught:
        unseal_data(expired, PASSWORD)
    assert caught.value.expiration_ms == real - 70_000
    assert unseal_data(within_skew, PASSWORD) == SESSION
    results = node(
        {"op": "session.unseal", "seal": expired, "password": PASSWORD},
        {"op": "iron1.unseal", "seal": expired[:-2], "password": {"1": PASSWORD}},
        {"op": "iron2.unseal", "seal": expired[:-2], "password": {"1": PASSWORD}},
        {"op": "session.unseal", "seal": within_skew, "password": PASSWORD},
        # iron seals 70 s in the past for 5 s: expired 65 s ago.
        {
            "op": "iron1.seal",
            "data": SESSION,
            "password": {"id": "1", "secret": PASSWORD},
            "ttl": 5_000,
            "localtimeOffsetMsec": -70_000,
        },
    )
    assert ok(results[0]) == {}  # iron-session turns "Expired seal" into an empty session
    assert results[1] == {"error": "Expired seal"}
    assert results[2] == {"error": "Expired seal"}
    assert ok(results[3]) == SESSION
    with pytest.raises(SealExpired):
        unseal_data(ok(results[4]) + "~2", PASSWORD)


def test_expiration_boundary(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_700_000_000_000]
    monkeypatch.setattr(sealing, "_now_ms", lambda: clock[0])
    seal = seal_data({"a": 1}, PASSWORD, ttl=10)
    assert seal.split("*")[5] == "1700000010000"
    clock[0] = 1_700_000_010_000 + 60_000 - 1
    assert unseal_data(seal, PASSWORD) == {"a": 1}
    clock[0] += 1
    with pytest.raises(SealExpired, match="expired"):
        unseal_data(seal, PASSWORD)


def test_empty_password_id_is_looked_up_as_default(node: Any) -> None:
    raw = ok(
        node({"op": "iron1.seal", "data": {"a": 1}, "password": {"id": "", "secret": PASSWORD}})[0]
    )
    assert raw.split("*")[1] == ""
    with pytest.raises(SealInvalid, match="'default'"):
        unseal_data(raw + "~2", PASSWORD)  # iron-session makes a str {1: password}
    assert unseal_data(raw + "~2", {"default": PASSWORD}) == {"a": 1}
    results = node(
        {"op": "session.unseal", "seal": raw + "~2", "password": PASSWORD},
        {"op": "session.unseal", "seal": raw + "~2", "password": {"default": PASSWORD}},
    )
    assert [ok(result) for result in results] == [{}, {"a": 1}]


@pytest.mark.parametrize("suffix", ["~2", "", "~", "~3", "~02", "~2x", "~2~5", "~ 2", "~x"])
def test_version_suffix_is_read_as_iron_session_reads_it(node: Any, suffix: str) -> None:
    data = {"persistent": {"legacy": True}, "modern": 1}
    body = seal_data(data, PASSWORD).removesuffix("~2")
    expected = ok(node({"op": "session.unseal", "seal": body + suffix, "password": PASSWORD})[0])
    assert unseal_data(body + suffix, PASSWORD) == expected
    assert expected == (data if suffix in ("~2", "~02", "~2x", "~2~5", "~ 2") else {"legacy": True})


def test_null_is_an_empty_session_as_in_iron_session(node: Any) -> None:
    python_seal = seal_data(None, PASSWORD)
    node_seal = ok(node({"op": "session.seal", "data": None, "password": PASSWORD})[0])
    assert unseal_data(python_seal, PASSWORD) == {}
    assert unseal_data(node_seal, PASSWORD) == {}
    assert open_seal(python_seal) is None
    assert ok(node({"op": "session.unseal", "seal": python_seal, "password": PASSWORD})[0]) == {}


def test_passwords_are_counted_and_encoded_as_javascript_does(node: Any) -> None:
    emoji = "😀" * 16  # 16 code points, 32 UTF-16 code units: long enough for iron
    short = "😀" * 15 + "a"  # 31 code units
    accented = "mot de passe très long, déjà ≥ 32"
    results = node(
        {"op": "session.seal", "data": {"a": 1}, "password": emoji},
        {"op": "session.seal", "data": {"a": 1}, "password": accented},
        {"op": "session.seal", "data": {"a": 1}, "password": short},
    )
    assert unseal_data(ok(results[0]), emoji) == {"a": 1}
    assert unseal_data(ok(results[1]), accented) == {"a": 1}
    assert "too short" in results[2]["error"]
    with pytest.raises(PasswordTooShort, match="31 characters"):
        seal_data({"a": 1}, short)
    checks = node(
        {"op": "session.unseal", "seal": seal_data({"b": 2}, emoji), "password": emoji},
        {"op": "session.unseal", "seal": seal_data({"b": 2}, accented), "password": accented},
    )
    assert [ok(result) for result in checks] == [{"b": 2}, {"b": 2}]


def tampered_seals() -> list[tuple[str, str]]:
    """(description, seal) for one change in each part of an authentic ttl seal."""
    seal = seal_data(SESSION, PASSWORD, ttl=3600)
    parts = seal.removesuffix("~2").split("*")
    changes: list[tuple[str, str]] = []
    for index, part in enumerate(parts):
        replacement = {"0": "1", "1": "2", "A": "B"}.get(part[0], "A" if part[0] != "A" else "B")
        for how, new in (
            ("first character changed", replacement + part[1:]),
            ("last character dropped", part[:-1]),
            ("character appended", part + ("0" if index in (2, 5, 6) else "A")),
        ):
            altered = [*parts[:index], new, *parts[index + 1 :]]
            changes.append((f"part {index} {how}", "*".join(altered) + "~2"))
    no_expiration = [*parts[:5], "", *parts[6:]]
    changes.append(("expiration removed", "*".join(no_expiration) + "~2"))
    swapped = [*parts[:2], parts[6], *parts[3:6], parts[2], parts[7]]
    changes.append(("salts swapped", "*".join(swapped) + "~2"))
    return changes


def test_every_tampered_part_is_rejected_here_and_by_node(node: Any) -> None:
    changes = tampered_seals()
    for description, seal in changes:
        with pytest.raises(SealInvalid):
            unseal_data(seal, PASSWORD)
            pytest.fail(f"accepted a seal with its {description}")
    results = node(
        *({"op": "session.unseal", "seal": seal, "password": PASSWORD} for _, seal in changes)
    )
    for (description, _), result in zip(changes, results, strict=True):
        assert result.get("ok") == {} or "error" in result, f"Node accepted {description}"


# --- Python only ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
@pytest.mark.parametrize("ttl", [0, 1, 600, 400 * 24 * 3600])
def test_round_trip(value: Any, ttl: int) -> None:
    seal = seal_data(value, PASSWORD, ttl=ttl)
    assert fields(seal)
    assert unseal_data(seal, PASSWORD) == value
    assert unseal_data(seal, PASSWORD, ttl=ttl) == value
    assert open_seal(seal) == value


def test_seals_are_random_and_compact() -> None:
    first, second = seal_data(SESSION, PASSWORD), seal_data(SESSION, PASSWORD)
    assert first != second
    assert fields(first)["salt"] != fields(second)["salt"]
    # JSON without spaces or \u escapes (JSON.stringify), so cookies stay small.
    plaintext = json.dumps(SESSION, ensure_ascii=False, separators=(",", ":")).encode()
    ciphertext = b64decode(fields(first)["ciphertext"])
    assert len(ciphertext) == (len(plaintext) // 16 + 1) * 16


def test_every_tampered_part_is_rejected() -> None:
    for description, seal in tampered_seals():
        with pytest.raises(SealInvalid):
            unseal_data(seal, PASSWORD)
            pytest.fail(f"accepted a seal with its {description}")


def test_wrong_password_is_rejected() -> None:
    seal = seal_data(SESSION, PASSWORD)
    with pytest.raises(SealInvalid, match="bad HMAC"):
        unseal_data(seal, OTHER)
    with pytest.raises(SealInvalid, match="no password with the seal's id '1'"):
        unseal_data(seal, {"2": PASSWORD})


@pytest.mark.parametrize(
    "seal",
    [
        "",
        "~2",
        "garbage",
        "Fe26.2",
        "Fe26.2*1*2*3*4*5*6~2",
        "Fe26.2*1*2*3*4*5*6*7*8~2",
        "*******~2",
        "Fe26.1*1*aa*AAAAAAAAAAAAAAAAAAAAAA*AAAAAAAAAAAAAAAAAAAAAA**bb*AAAA~2",
        "Fe26.2*1*aa*AAAA*AAAA**bb*AAAA~2",
        "Fe26.2*1*aa*AAAA*AAAA***AAAA~2",
        "Fe26.2*9*aa*AAAA*AAAA**bb*AAAA~2",
        "Fe26.2*1*é*ü*😀*\ud800*\x00*\udfff~2",
        "Fe26.2*" + "*".join(["A" * 100_000] * 7),
    ],
    ids=range(13),
)
def test_malformed_seals_are_rejected(seal: str) -> None:
    with pytest.raises(SealInvalid):
        unseal_data(seal, PASSWORD)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"iv": "!!!!"}, "IV is not base64url"),
        ({"iv": "AAAAA"}, "IV is not base64url"),
        ({"iv": "AAAA="}, "IV is not base64url"),
        ({"iv": b64(b"\x00" * 8)}, "IV has 8 bytes"),
        ({"ciphertext": "AAAA AAAA"}, "ciphertext is not base64url"),
        ({"ciphertext": ""}, "not a whole number of AES blocks"),
        ({"ciphertext": b64(b"\x01" * 15)}, "not a whole number of AES blocks"),
        ({"ciphertext": b64(b"\x01" * 32)}, "bad padding"),
        ({"expiration": "soon"}, "expiration is not a number"),
        ({"expiration": "0"}, "expiration is not a number"),
        ({"expiration": "0123"}, "expiration is not a number"),
        ({"expiration": "-5"}, "expiration is not a number"),
        ({"expiration": "1.5"}, "expiration is not a number"),
        ({"expiration": "\u0661\u0662\u0663"}, "expiration is not a number"),  # Arabic digits
        ({"expiration": "1"}, "expired"),
        ({"salt": ""}, "no encryption salt"),
    ],
)
def test_authentic_but_malformed_seals_are_rejected(options: dict[str, str], message: str) -> None:
    with pytest.raises(SealInvalid, match=message):
        unseal_data(forge(b'{"a":1}', **options), PASSWORD)


@pytest.mark.parametrize(
    "plaintext",
    [b"not json", b"{", b"NaN", b'{"a": Infinity}', b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000],
    ids=["text", "truncated", "nan", "infinity", "bad-utf8", "deep"],
)
def test_sealed_text_that_is_not_json_is_rejected(plaintext: bytes) -> None:
    with pytest.raises(SealInvalid, match="not JSON"):
        unseal_data(forge(plaintext), PASSWORD)


def test_forged_seal_reads_like_a_real_one() -> None:
    # Cross-check of the test's own reading of the format.
    assert unseal_data(forge(b'{"a":1}'), PASSWORD) == {"a": 1}
    assert unseal_data(forge(b"\xef\xbb\xbf[1]"), PASSWORD) == [1]  # TextDecoder drops a BOM
    assert unseal_data(forge(b""), PASSWORD) == {}  # iron-webcrypto 1.x: null


def test_random_damage_only_ever_raises_seal_errors() -> None:
    generator = random.Random(20240601)
    seal = seal_data(SESSION, PASSWORD, ttl=600)
    body = seal.removesuffix("~2")
    alphabet = "*~.0123456789abcdefAZaz_-=+/ é😀\x00\ud800"
    for _ in range(1500):
        position = generator.randrange(len(seal) + 1)
        action = generator.choice(["replace", "insert", "delete", "truncate"])
        character = generator.choice(alphabet)
        if action == "replace":
            damaged = seal[:position] + character + seal[position + 1 :]
        elif action == "insert":
            damaged = seal[:position] + character + seal[position:]
        elif action == "delete":
            damaged = seal[:position] + seal[position + 1 :]
        else:
            damaged = seal[:position]
        try:
            result = unseal_data(damaged, PASSWORD)
        except SealError:
            continue
        # Only the version suffix is outside the HMAC.
        assert damaged.partition("~")[0] == body, damaged
        assert result in (SESSION, {})


def test_password_configuration_errors() -> None:
    seal = seal_data(1, PASSWORD)
    for call in (lambda p: seal_data(1, p), lambda p: unseal_data(seal, p)):
        with pytest.raises(PasswordTooShort, match="'1' has 31 characters"):
            call("x" * 31)
        with pytest.raises(PasswordTooShort, match="'2' has 0 characters"):
            call({"1": PASSWORD, "2": ""})
        with pytest.raises(PasswordError, match="empty"):
            call({})
        with pytest.raises(TypeError):
            call(PASSWORD.encode())
        with pytest.raises(TypeError):
            call({"1": PASSWORD.encode()})
    for ids in ({"a": PASSWORD}, {"01": PASSWORD}, {"1": PASSWORD, "-2": OTHER}, {"1.5": OTHER}):
        with pytest.raises(PasswordError, match="not a decimal integer"):
            seal_data(1, ids)
    # Unsealing accepts any id: the seal names it.
    assert unseal_data(seal, {"1": PASSWORD, "next": OTHER}) == 1
    assert issubclass(PasswordTooShort, ValueError)
    assert not issubclass(PasswordError, SealInvalid)
    assert issubclass(SealExpired, SealInvalid) and issubclass(SealInvalid, SealError)


def test_argument_errors() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        seal_data({"when": object()}, PASSWORD)
    with pytest.raises(ValueError, match="Out of range float"):
        seal_data({"x": float("nan")}, PASSWORD)
    for ttl, error in ((-1, ValueError), (1.5, TypeError), (True, TypeError), ("600", TypeError)):
        with pytest.raises(error):
            seal_data(1, PASSWORD, ttl=ttl)  # type: ignore[arg-type]
        with pytest.raises(error):
            unseal_data(seal_data(1, PASSWORD), PASSWORD, ttl=ttl)  # type: ignore[arg-type]
    for seal in (None, b"Fe26.2", 1):
        with pytest.raises(TypeError, match="a seal is a str"):
            unseal_data(seal, PASSWORD)  # type: ignore[arg-type]


def test_library_module_imports_without_server_extras() -> None:
    from tests.test_layers import SERVER_ONLY

    probe = (
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {SERVER_ONLY!r}:\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from authkeep.integrations.sealing import seal_data, unseal_data\n"
        "print(unseal_data(seal_data([1], 'p' * 32), 'p' * 32))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1]"


# --- workos-python's Fernet sessions -------------------------------------------------------


def test_fernet_session_from_workos_python() -> None:
    key = Fernet.generate_key().decode()
    session = {"access_token": "at", "refresh_token": "rt", "user": {"id": "user_1", "x": "é"}}
    sealed = workos_seal_data(session, key)
    assert unseal_fernet_session(sealed, key) == session
    assert unseal_fernet_session(sealed, key.encode()) == session
    assert unseal_fernet_session(sealed.encode(), key) == session


def test_fernet_session_errors() -> None:
    key = Fernet.generate_key().decode()
    sealed = workos_seal_data({"access_token": "at"}, key)
    with pytest.raises(SealInvalid, match="another key"):
        unseal_fernet_session(sealed, Fernet.generate_key())
    for bad in (
        "",
        "garbage",
        sealed[:-4],
        sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:],
        "é" + sealed,
    ):
        with pytest.raises(SealInvalid):
            unseal_fernet_session(bad, key)
    for bad_key in (PASSWORD, "", "c2hvcnQ=", b"\xff" * 44, 12):
        with pytest.raises(PasswordError, match="not a Fernet key"):
            unseal_fernet_session(sealed, bad_key)  # type: ignore[arg-type]
    with pytest.raises(SealInvalid, match="not JSON"):
        unseal_fernet_session(Fernet(key).encrypt(b"{not json").decode(), key)
    with pytest.raises(TypeError):
        unseal_fernet_session(None, key)  # type: ignore[arg-type]
