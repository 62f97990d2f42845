"""IDs are `prefix_ULID` (CONTRACT.md §1.7): Crockford base32, 26 characters, sortable by time."""

from __future__ import annotations

import random
import time

from authkeep.crypto.secrets import _encode_ulid, has_id_shape, is_ulid, new_id, new_ulid

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def crockford(value: int) -> str:
    """The ULID spec's encoding, one 5-bit group at a time from the least significant end."""
    out = []
    for _ in range(26):
        out.append(CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(out))


def test_a_ulid_encodes_its_timestamp_and_random_bits_as_the_spec_does() -> None:
    before = time.time_ns() // 1_000_000
    ulid = new_ulid()
    after = time.time_ns() // 1_000_000
    assert is_ulid(ulid)
    value = 0
    for char in ulid:
        value = value * 32 + CROCKFORD.index(char)
    assert crockford(value) == ulid  # round trip through the reference encoding
    assert before <= value >> 80 <= after  # the top 48 bits are the time in milliseconds


def test_ulids_are_unique_and_sort_in_creation_order_within_a_millisecond_too() -> None:
    made = [new_ulid() for _ in range(5000)]
    assert len(set(made)) == len(made) and made == sorted(made)
    assert all(is_ulid(u) for u in made)


def test_ids_have_their_prefix_and_shape() -> None:
    identifier = new_id("org_domain")
    assert identifier.startswith("org_domain_") and has_id_shape(identifier, "org_domain")
    assert not has_id_shape(identifier, "org")
    rng = random.Random(7)
    for _ in range(200):  # the encoding of extreme and random values, against the reference
        value = rng.choice([0, (1 << 128) - 1, rng.getrandbits(128)])
        assert _encode_ulid(value) == crockford(value)
