"""The review queue: series whose pixels may show a patient, until a person clears them.

Ingest flags a series when one of its instances has a review reason
(:func:`claripacs_jupyter.anonymize.review_reasons`): a header whitelist
cannot clean burned-in text. A flagged series keeps its case private, and the
case cannot be made public, until a person marks the series "reviewed" (they
looked at every image) or "masked" (the text was masked out). The reasons,
who cleared the flag and when stay with the case. A new flagged image added
to a cleared series puts it back in the queue: nobody has looked at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ..errors import InvalidInputError, NotFoundError
from .schema import cases, series, series_reviews

__all__ = [
    "CLEARED",
    "PENDING",
    "ReviewPendingError",
    "SeriesReview",
    "backfill",
    "clear",
    "flag",
    "pending_accessions",
    "pending_column",
    "reviews",
]

#: The status of a flag nobody has cleared.
PENDING = "pending"
#: The statuses a person may clear a flag with.
CLEARED = ("reviewed", "masked")
_BY_MAX = 200


class ReviewPendingError(InvalidInputError):
    """A case cannot be made public while series of it await review."""

    http_status = 409


class AlreadyClearedError(InvalidInputError):
    """A series' review was cleared before; who cleared it is not overwritten."""

    http_status = 409


@dataclass(frozen=True)
class SeriesReview:
    """The review flag of one series.

    Attributes
    ----------
    accession : str
        The case.
    series_uid : str
        The flagged series.
    reasons : list of str
        Why its pixels may show a patient, as :func:`review_reasons` says.
    status : str
        :data:`PENDING`, or one of :data:`CLEARED`.
    flagged : datetime
        When the series was last flagged.
    cleared_by : str or None
        Who cleared it; None while pending.
    cleared_at : datetime or None
        When; None while pending.
    """

    accession: str
    series_uid: str
    reasons: list[str]
    status: str
    flagged: datetime
    cleared_by: str | None
    cleared_at: datetime | None

    @property
    def pending(self) -> bool:
        """True until a person has cleared the flag."""
        return self.status == PENDING

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of the flag."""
        return {
            "accession": self.accession,
            "series_uid": self.series_uid,
            "reasons": list(self.reasons),
            "status": self.status,
            "flagged": self.flagged.isoformat(),
            "cleared_by": self.cleared_by,
            "cleared_at": self.cleared_at.isoformat() if self.cleared_at else None,
        }


def flag(
    conn: Connection, flagged: dict[str, tuple[str, list[str]]], now: datetime
) -> None:
    """Put series in the queue, and keep their cases private.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        A connection inside the ingest's transaction, after the series rows.
    flagged : dict
        ``{series_uid: (accession, reasons)}`` of the series that received
        flagged instances in this batch.
    now : datetime
        The batch's time.
    """
    if not flagged:
        return
    known = {
        row.series_uid: row
        for row in conn.execute(
            select(series_reviews).where(series_reviews.c.series_uid.in_(list(flagged)))
        )
    }
    for uid, (accession, reasons) in flagged.items():
        row = known.get(uid)
        if row is None:
            conn.execute(
                insert(series_reviews).values(
                    series_uid=uid,
                    accession=accession,
                    reasons=list(dict.fromkeys(reasons)),
                    status=PENDING,
                    flagged=now,
                )
            )
            continue
        # new flagged images: back in the queue, whoever cleared the others
        conn.execute(
            update(series_reviews)
            .where(series_reviews.c.series_uid == uid)
            .values(
                reasons=list(dict.fromkeys([*row.reasons, *reasons])),
                status=PENDING,
                flagged=now,
                cleared_by=None,
                cleared_at=None,
            )
        )
    accessions = {accession for accession, _ in flagged.values()}
    conn.execute(
        update(cases).where(cases.c.accession.in_(accessions)).values(private=True)
    )


def reviews(
    conn: Connection, accession: str | None = None, *, pending_only: bool = False
) -> list[SeriesReview]:
    """The flags of one case (all cases when None), oldest first."""
    query = select(series_reviews).order_by(
        series_reviews.c.flagged, series_reviews.c.series_uid
    )
    if accession is not None:
        query = query.where(series_reviews.c.accession == accession)
    if pending_only:
        query = query.where(series_reviews.c.status == PENDING)
    return [_review(row) for row in conn.execute(query)]


def pending_accessions(
    conn: Connection, accessions: list[str] | None = None
) -> set[str]:
    """The cases, among `accessions` (all when None), with a pending flag."""
    query = select(series_reviews.c.accession).where(series_reviews.c.status == PENDING)
    if accessions is not None:
        query = query.where(series_reviews.c.accession.in_(accessions))
    return set(conn.execute(query.distinct()).scalars())


def pending_column() -> Any:
    """A column for queries over cases: whether a series of the case is pending."""
    return (
        select(series_reviews.c.series_uid)
        .where(
            series_reviews.c.accession == cases.c.accession,
            series_reviews.c.status == PENDING,
        )
        .exists()
        .label("review_pending")
    )


def clear(
    conn: Connection,
    accession: str,
    series_uid: str,
    *,
    by: str,
    status: str,
    now: datetime,
) -> SeriesReview:
    """Mark one flagged series of a case reviewed or masked, by `by`."""
    if status not in CLEARED:
        raise InvalidInputError(
            f"a review clears a series as {' or '.join(CLEARED)}, not {status!r}"
        )
    if (
        not isinstance(by, str)
        or not by.strip()
        or len(by) > _BY_MAX
        or not by.isprintable()
    ):
        raise InvalidInputError(
            f"say who reviewed the series (a name of 1 to {_BY_MAX} printable "
            "characters)"
        )
    done = conn.execute(
        update(series_reviews)
        .where(
            series_reviews.c.accession == accession,
            series_reviews.c.series_uid == series_uid,
            series_reviews.c.status == PENDING,
        )
        .values(status=status, cleared_by=by.strip(), cleared_at=now)
    )
    if done.rowcount == 0:
        earlier = conn.execute(
            select(series_reviews).where(
                series_reviews.c.accession == accession,
                series_reviews.c.series_uid == series_uid,
            )
        ).first()
        if earlier is not None:
            cleared = _review(earlier)
            when = cleared.cleared_at.date().isoformat() if cleared.cleared_at else ""
            raise AlreadyClearedError(
                f"the series ...{series_uid[-8:]} was cleared as {cleared.status} "
                f"by {cleared.cleared_by} on {when}; that record stays"
            )
        known = conn.execute(
            select(cases.c.accession).where(cases.c.accession == accession)
        ).first()
        if known is None:
            raise NotFoundError(f"no case {accession}")
        raise NotFoundError(
            f"case {accession} has no series ...{series_uid[-8:]} awaiting review"
        )
    row = conn.execute(
        select(series_reviews).where(series_reviews.c.series_uid == series_uid)
    ).one()
    return _review(row)


def backfill(conn: Connection, now: datetime) -> int:
    """Flag every series of the cases a version 1 index holds reasons for.

    Version 1 kept review reasons per case only, so each series of a flagged
    case is flagged with the case's reasons: nothing flagged before goes
    public unseen. Returns the number of series flagged.
    """
    rows = conn.execute(
        select(series.c.uid, series.c.accession, cases.c.review_reasons)
        .join(cases, cases.c.accession == series.c.accession)
        .where(series.c.uid.not_in(select(series_reviews.c.series_uid)))
    ).all()
    flagged = {
        row.uid: (row.accession, list(row.review_reasons))
        for row in rows
        if row.review_reasons
    }
    flag(conn, flagged, now)
    return len(flagged)


def _review(row: Any) -> SeriesReview:
    return SeriesReview(
        accession=row.accession,
        series_uid=row.series_uid,
        reasons=list(row.reasons),
        status=row.status,
        flagged=row.flagged,
        cleared_by=row.cleared_by,
        cleared_at=row.cleared_at,
    )
