"""The store's own accession numbers: short, URL-safe, unambiguous, unique."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from ..errors import NotFoundError, StoreError

__all__ = ["ALPHABET", "LENGTH", "new_accession", "normalize"]

#: Upper-case letters and digits without 0/O and 1/I, which readers confuse when
#: an accession is read aloud in a conference or copied from a slide.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

#: 32**8 (about 10**12) codes: collisions are rare, and retried when they happen.
LENGTH = 8

_ATTEMPTS = 20
# What a lookup accepts: ours, and codes of up to 16 characters from elsewhere.
_PATTERN = re.compile(r"[A-Z0-9]{1,16}")


def new_accession(taken: Callable[[str], bool]) -> str:
    """Return a fresh accession for which `taken(accession)` is False.

    Raises
    ------
    StoreError
        If every attempt collided, which only happens when the callable
        answers True for everything.
    """
    for _ in range(_ATTEMPTS):
        accession = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if not taken(accession):
            return accession
    raise StoreError("could not find an unused accession; the index looks damaged")


def normalize(accession: str) -> str:
    """Return `accession` as stored (upper case, trimmed), or raise NotFoundError.

    Accessions are case-insensitive for people who type them from a slide, and
    anything that cannot be an accession is simply not found.
    """
    text = str(accession).strip().upper()
    if not _PATTERN.fullmatch(text):
        raise NotFoundError(f"no case {accession!r} in this store")
    return text
