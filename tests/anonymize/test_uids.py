"""Tests for the keyed UID remapping under 2.25."""

from __future__ import annotations

import hashlib
import re
import uuid

import pytest

from claripacs_jupyter.anonymize import remap_uid
from claripacs_jupyter.anonymize.uids import (
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    _remap,
)

from .conftest import KEY

VALID_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
ORIGINAL = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"


def test_remapped_uid_is_a_valid_uid_under_2_25():
    new = remap_uid(ORIGINAL, KEY)

    assert new.startswith("2.25.")
    assert len(new) <= 64
    assert VALID_UID.fullmatch(new)


def test_remapped_uid_is_a_version_8_uuid_in_integer_form():
    new = remap_uid(ORIGINAL, KEY)

    as_uuid = uuid.UUID(int=int(new.removeprefix("2.25.")))

    assert as_uuid.version == 8
    assert as_uuid.variant == uuid.RFC_4122


def test_same_uid_and_key_map_the_same_across_runs():
    first = remap_uid(ORIGINAL, KEY)
    _remap.cache_clear()  # a new process would start with an empty cache

    second = remap_uid(ORIGINAL, KEY)

    assert first == second


def test_another_key_gives_another_uid():
    other_key = bytes(reversed(KEY))

    assert remap_uid(ORIGINAL, KEY) != remap_uid(ORIGINAL, other_key)


def test_distinct_uids_stay_distinct():
    uids = [f"1.2.826.0.1.3680043.2.1125.{n}" for n in range(2000)]

    mapped = {remap_uid(uid, KEY) for uid in uids}

    assert len(mapped) == len(uids)


def test_padding_of_the_original_is_ignored():
    assert remap_uid(ORIGINAL + "\0", KEY) == remap_uid(ORIGINAL, KEY)


def test_new_uid_is_not_a_plain_hash_of_the_original():
    new = int(remap_uid(ORIGINAL, KEY).removeprefix("2.25."))
    plain = {
        int.from_bytes(getattr(hashlib, name)(ORIGINAL.encode()).digest()[:16], "big")
        for name in ("md5", "sha1", "sha256")
    }

    assert new not in plain
    assert ORIGINAL.split(".")[-1] not in str(new)


@pytest.mark.parametrize("key", [b"", b"short", "a text key of enough length"])
def test_unusable_key_is_refused(key):
    with pytest.raises(ValueError, match="key"):
        remap_uid(ORIGINAL, key)  # type: ignore[arg-type]


def test_empty_uid_is_refused():
    with pytest.raises(ValueError, match="empty"):
        remap_uid("  ", KEY)


def test_implementation_identity_is_ours_and_fits_its_vr():
    assert IMPLEMENTATION_CLASS_UID.startswith("2.25.")
    assert VALID_UID.fullmatch(IMPLEMENTATION_CLASS_UID)
    assert len(IMPLEMENTATION_VERSION_NAME) <= 16
    assert IMPLEMENTATION_VERSION_NAME.startswith("CLARIPACS")
