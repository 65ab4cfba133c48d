"""Keyed UID remapping under the ``2.25`` root, and this implementation's own UIDs."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from .. import __version__

__all__ = [
    "IMPLEMENTATION_CLASS_UID",
    "IMPLEMENTATION_VERSION_NAME",
    "MIN_KEY_BYTES",
    "remap_uid",
]

#: (0002,0012) *ImplementationClassUID* written into every file meta we rebuild.
#: A random UUID made once for claripacs-jupyter, in the ``2.25`` integer form.
IMPLEMENTATION_CLASS_UID = "2.25.206978642375825402309266091887952836229"

#: (0002,0013) *ImplementationVersionName*: SH, at most 16 characters.
IMPLEMENTATION_VERSION_NAME = f"CLARIPACS_{__version__}"[:16]

#: The shortest key :func:`remap_uid` accepts; the store makes 32 random bytes.
MIN_KEY_BYTES = 16

# Bits of a UUID that hold its version (4 bits) and its variant (2 bits).
_VERSION_MASK = 0xF << 76
_VARIANT_MASK = 0x3 << 62


def remap_uid(uid: str, key: bytes) -> str:
    """Return the UID that replaces `uid` in files anonymized with `key`.

    The new UID is ``"2.25."`` followed by the decimal form of a UUID made
    from the first 128 bits of HMAC-SHA256(`key`, `uid`), with the UUID
    version set to 8 (custom) and the RFC 9562 variant, as PS3.5 B.2 asks of
    UIDs under ``2.25``. The same `uid` and `key` always give the same result,
    so a study imported in several runs keeps one Study Instance UID and
    references between instances still resolve; without the key the mapping
    cannot be reversed or recomputed.

    Parameters
    ----------
    uid : str
        The original UID. Trailing padding (space or NUL) is ignored.
    key : bytes
        The store's secret key, at least :data:`MIN_KEY_BYTES` long.

    Returns
    -------
    str
        A valid UID of at most 44 characters with no leading zero in any
        component.

    Raises
    ------
    ValueError
        If `uid` is empty or `key` is too short.
    """
    if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"the UID key must be at least {MIN_KEY_BYTES} bytes; "
            "use the key the store created"
        )
    text = str(uid).rstrip(" \0")
    if not text:
        raise ValueError("cannot remap an empty UID")
    return _remap(text, bytes(key))


@lru_cache(maxsize=65536)
def _remap(uid: str, key: bytes) -> str:
    """Cached core of :func:`remap_uid`; many slices share study and series UIDs."""
    digest = hmac.new(key, uid.encode("ascii", "replace"), hashlib.sha256).digest()
    value = int.from_bytes(digest[:16], "big")
    value = (value & ~_VERSION_MASK) | (0x8 << 76)
    value = (value & ~_VARIANT_MASK) | (0x2 << 62)
    return f"2.25.{value}"
