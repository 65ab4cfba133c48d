"""The settings a store keeps in its own index: teaching mode, limits, the UID key."""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ..errors import InvalidInputError, StoreError
from .schema import SCHEMA_VERSION, settings

__all__ = [
    "KEY_BYTES",
    "StoreSettings",
    "initialize",
    "load",
    "save",
    "set_schema_version",
]

#: Length of the store's HMAC key for UID remapping, made once per store.
KEY_BYTES = 32

_KEY_ROW = "uid_key"
_VERSION_ROW = "schema_version"


@dataclass(frozen=True)
class StoreSettings:
    """Settings that belong to one store and travel with its index.

    Attributes
    ----------
    teaching : bool
        Anonymize every file on the way in (teaching-file mode). On unless the
        store was explicitly configured otherwise.
    max_image_bytes : int
        Largest decoded image a file may declare (rows x columns x frames x
        samples x bytes); larger headers are refused before pixels are read.
    archive_max_bytes : int
        Largest total a ZIP archive may expand to, nested archives included.
    archive_max_ratio : float
        Largest ratio of expanded to compressed size for an archive; beyond
        it the archive is treated as a ZIP bomb. Applies once the archive
        expands to more than :data:`RATIO_FLOOR_BYTES`.
    """

    teaching: bool = True
    max_image_bytes: int = 2 * 1024**3
    archive_max_bytes: int = 8 * 1024**3
    archive_max_ratio: float = 200.0

    def validated(self) -> StoreSettings:
        """Return these settings, or raise InvalidInputError naming a bad one."""
        if not isinstance(self.teaching, bool):
            raise InvalidInputError("teaching must be True or False")
        for name in ("max_image_bytes", "archive_max_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise InvalidInputError(f"{name} must be a positive whole number")
        ratio = self.archive_max_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or ratio < 1:
            raise InvalidInputError("archive_max_ratio must be a number of 1 or more")
        return self


#: Archives that expand to less than this are never called bombs for their ratio
#: alone: a ZIP of a few small, very regular files can legitimately compress well.
RATIO_FLOOR_BYTES = 16 * 1024**2

_FIELDS = {field.name for field in dataclasses.fields(StoreSettings)}


def initialize(conn: Connection, *, teaching: bool) -> None:
    """Write the first settings of a new store: schema version, key, teaching mode."""
    rows = [
        {"key": _VERSION_ROW, "value": SCHEMA_VERSION},
        {"key": _KEY_ROW, "value": secrets.token_bytes(KEY_BYTES).hex()},
    ]
    defaults = dataclasses.asdict(StoreSettings(teaching=teaching).validated())
    rows += [{"key": key, "value": value} for key, value in defaults.items()]
    conn.execute(insert(settings), rows)


def load(conn: Connection) -> tuple[int, bytes, StoreSettings]:
    """Return (schema version, UID key, settings) of an initialized store."""
    values = dict(conn.execute(select(settings.c.key, settings.c.value)).all())
    if _VERSION_ROW not in values or _KEY_ROW not in values:
        raise StoreError(
            "the store index has no settings; it was not made by claripacs or its "
            "creation was interrupted: move the folder away and import again"
        )
    try:
        key = bytes.fromhex(values[_KEY_ROW])
    except (TypeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise StoreError("the store's UID key is damaged; the store cannot be used")
    known = {name: values[name] for name in _FIELDS if name in values}
    return int(values[_VERSION_ROW]), key, StoreSettings(**known)


def save(
    conn: Connection, current: StoreSettings, changes: dict[str, Any]
) -> StoreSettings:
    """Validate `changes` against `current`, write them, return the new settings."""
    unknown = sorted(set(changes) - _FIELDS)
    if unknown:
        raise InvalidInputError(
            f"unknown store setting {unknown[0]!r}; known: {', '.join(sorted(_FIELDS))}"
        )
    new = dataclasses.replace(current, **changes).validated()
    for name, value in changes.items():
        done = conn.execute(
            update(settings).where(settings.c.key == name).values(value=value)
        )
        if done.rowcount == 0:
            conn.execute(insert(settings).values(key=name, value=value))
    return new


def set_schema_version(conn: Connection, version: int) -> None:
    """Record that the index now has the layout of schema `version`."""
    conn.execute(
        update(settings).where(settings.c.key == _VERSION_ROW).values(value=version)
    )
