"""pandas DataFrames of the store's cases, series and instances, for batch work."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import func, select

from . import review
from .accession import normalize
from .ordering import sort_instances
from .schema import cases, instances, series

if TYPE_CHECKING:
    from .store import Store

__all__ = ["cases_frame", "instances_frame", "series_frame"]

_CASE_COLUMNS = {
    "accession": "string",
    "folder": "string",
    "description": "string",
    "modalities": "object",
    "notes": "string",
    "private": "bool",
    "owner": "string",
    "created": "datetime64[ns, UTC]",
    "series_count": "int64",
    "instance_count": "int64",
    "frame_count": "int64",
    "needs_review": "bool",
    "review_reasons": "string",
}

_SERIES_COLUMNS = {
    "accession": "string",
    "series_uid": "string",
    "number": "Int64",
    "description": "string",
    "modality": "string",
    "instance_count": "int64",
    "frame_count": "int64",
}

_INSTANCE_COLUMNS = {
    "accession": "string",
    "series_uid": "string",
    "series_number": "Int64",
    "sop_uid": "string",
    "number": "Int64",
    "sort_key": "int64",
    "position": "float64",
    "frames": "int64",
    "rows": "int64",
    "columns": "int64",
    "sop_class_uid": "string",
    "transfer_syntax": "string",
    "size": "int64",
    "path": "string",
}


def cases_frame(store: Store) -> pd.DataFrame:
    """Return one row per case, newest first.

    Columns: accession, folder, description, modalities (a list of str per
    case), notes, private, owner, created (UTC), series_count,
    instance_count, frame_count, needs_review, review_reasons (joined with
    "; ").
    """
    totals = (
        select(
            series.c.accession,
            func.count(func.distinct(series.c.uid)).label("series_count"),
            func.count(instances.c.sop_uid).label("instance_count"),
            func.coalesce(func.sum(instances.c.frames), 0).label("frame_count"),
        )
        .select_from(
            series.outerjoin(instances, instances.c.series_uid == series.c.uid)
        )
        .group_by(series.c.accession)
        .subquery()
    )
    query = (
        select(
            cases,
            totals.c.series_count,
            totals.c.instance_count,
            totals.c.frame_count,
            review.pending_column(),
        )
        .select_from(cases.outerjoin(totals, totals.c.accession == cases.c.accession))
        .order_by(cases.c.created.desc(), cases.c.accession)
    )
    with store._engine.connect() as conn:
        rows = conn.execute(query).all()
    records = [
        {
            "accession": row.accession,
            "folder": row.folder,
            "description": row.description,
            "modalities": list(row.modalities),
            "notes": row.notes,
            "private": bool(row.private),
            "owner": row.owner,
            "created": _utc(row.created),
            "series_count": row.series_count or 0,
            "instance_count": row.instance_count or 0,
            "frame_count": row.frame_count or 0,
            "needs_review": bool(row.review_pending),
            "review_reasons": "; ".join(row.review_reasons),
        }
        for row in rows
    ]
    return _frame(records, _CASE_COLUMNS)


def series_frame(store: Store, accession: str | None = None) -> pd.DataFrame:
    """Return one row per series (of one case, or all), by case and series number.

    Columns: accession, series_uid, number, description, modality,
    instance_count, frame_count.
    """
    query = (
        select(
            series,
            func.count(instances.c.sop_uid).label("instance_count"),
            func.coalesce(func.sum(instances.c.frames), 0).label("frame_count"),
        )
        .select_from(
            series.outerjoin(instances, instances.c.series_uid == series.c.uid)
        )
        .group_by(series.c.uid)
    )
    if accession is not None:
        store.case(accession)  # NotFoundError for an unknown case
        query = query.where(series.c.accession == normalize(accession))
    with store._engine.connect() as conn:
        rows = conn.execute(query).all()
    rows = sorted(rows, key=_series_order)
    records = [
        {
            "accession": row.accession,
            "series_uid": row.uid,
            "number": row.number,
            "description": row.description,
            "modality": row.modality,
            "instance_count": row.instance_count,
            "frame_count": row.frame_count,
        }
        for row in rows
    ]
    return _frame(records, _SERIES_COLUMNS)


def instances_frame(store: Store, accession: str | None = None) -> pd.DataFrame:
    """Return one row per instance (of one case, or all), in display order.

    Columns: accession, series_uid, series_number, sop_uid, number, sort_key
    (place in the series), position (mm along the slice normal), frames,
    rows, columns, sop_class_uid, transfer_syntax, size (bytes), path (the
    file, absolute).
    """
    query = select(
        instances,
        series.c.accession,
        series.c.number.label("series_number"),
        series.c.description.label("series_description"),
    ).join(series, series.c.uid == instances.c.series_uid)
    if accession is not None:
        store.case(accession)
        query = query.where(series.c.accession == normalize(accession))
    with store._engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]

    by_series: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_series.setdefault(row["series_uid"], []).append(row)
    groups = sorted(
        by_series.values(),
        key=lambda group: (
            group[0]["accession"],
            group[0]["series_number"] is None,
            group[0]["series_number"] or 0,
            group[0]["series_description"],
            group[0]["series_uid"],
        ),
    )
    records = []
    for group in groups:
        for place, row in enumerate(sort_instances(group)):
            record = {name: row.get(name) for name in _INSTANCE_COLUMNS}
            record["sort_key"] = place
            record["path"] = str(store.path / row["path"])
            records.append(record)
    return _frame(records, _INSTANCE_COLUMNS)


def _utc(moment: datetime) -> pd.Timestamp:
    # SQLite gives back naive datetimes; the store writes UTC only.
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp


def _series_order(row: Any) -> tuple[Any, ...]:
    return (
        row.accession,
        row.number is None,
        row.number or 0,
        row.description,
        row.uid,
    )


def _frame(records: list[dict[str, Any]], columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=list(columns))
    return frame.astype(columns)
