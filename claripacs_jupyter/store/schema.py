"""The index: SQLAlchemy Core tables of cases, series, instances and settings."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "SCHEMA_VERSION",
    "cases",
    "instances",
    "masked_instances",
    "metadata",
    "series",
    "series_reviews",
    "settings",
]

#: The layout of the tables below. A store written with a higher number is refused
#: (an older claripacs must not write into a newer index); a lower one is migrated
#: when the schema first changes.
SCHEMA_VERSION = 3

metadata = MetaData()

# A UID is at most 64 characters; accessions are the store's own short codes.
_UID = String(64)


def _case_of_row() -> Column[str]:
    """The accession of the case a row belongs to; the row goes with the case."""
    return Column(
        "accession",
        String(16),
        ForeignKey("cases.accession", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


cases = Table(
    "cases",
    metadata,
    Column("accession", String(16), primary_key=True),
    # The (anonymized, in teaching mode) (0020,000D) StudyInstanceUID.
    Column("study_uid", _UID, nullable=False, unique=True),
    Column("folder", String(200), nullable=False, default="", index=True),
    Column("description", Text, nullable=False, default=""),
    Column("modalities", JSON, nullable=False, default=list),
    Column("notes", Text, nullable=False, default=""),
    Column("private", Boolean, nullable=False, default=True),
    Column("owner", String(200), nullable=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
    Column("review_reasons", JSON, nullable=False, default=list),
)

series = Table(
    "series",
    metadata,
    Column("uid", _UID, primary_key=True),
    _case_of_row(),
    Column("number", Integer, nullable=True),
    Column("description", Text, nullable=False, default=""),
    Column("modality", String(16), nullable=False, default=""),
)

instances = Table(
    "instances",
    metadata,
    Column("sop_uid", _UID, primary_key=True),
    Column(
        "series_uid",
        _UID,
        ForeignKey("series.uid", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # Relative to the store folder, with "/" separators.
    Column("path", String(300), nullable=False, unique=True),
    Column("sop_class_uid", _UID, nullable=False, default=""),
    Column("transfer_syntax", _UID, nullable=False, default=""),
    Column("number", Integer, nullable=True),
    Column("frames", Integer, nullable=False, default=1),
    Column("rows", Integer, nullable=False, default=0),
    Column("columns", Integer, nullable=False, default=0),
    # (0020,0032) ImagePositionPatient projected on the slice normal, in mm.
    Column("position", Float, nullable=True),
    Column("size", Integer, nullable=False, default=0),
    # dicom.image_info(ds), kept so that the viewer never re-reads the header.
    Column("image_info", JSON, nullable=False, default=dict),
    # False while image_info lacks what needs decoded pixels (see Store.image_info).
    Column("info_complete", Boolean, nullable=False, default=False),
    Column("added", DateTime(timezone=True), nullable=False),
)

# The review queue: one row per series whose pixels may carry burned-in
# identifiers. Added in schema version 2.
series_reviews = Table(
    "series_reviews",
    metadata,
    Column(
        "series_uid",
        _UID,
        ForeignKey("series.uid", ondelete="CASCADE"),
        primary_key=True,
    ),
    _case_of_row(),
    Column("reasons", JSON, nullable=False, default=list),
    # "pending" until a person clears it as "reviewed" or "masked"
    Column("status", String(16), nullable=False, default="pending", index=True),
    Column("flagged", DateTime(timezone=True), nullable=False),
    Column("cleared_by", String(200), nullable=True),
    Column("cleared_at", DateTime(timezone=True), nullable=True),
)

# Instances replaced by a masked copy: the unmasked image stays out when its
# file is imported again. Added in schema version 3.
masked_instances = Table(
    "masked_instances",
    metadata,
    Column("sop_uid", _UID, primary_key=True),
    _case_of_row(),
    Column("replaced_by", _UID, nullable=False),
    Column("masked_at", DateTime(timezone=True), nullable=False),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
)
