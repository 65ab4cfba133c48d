"""HTTP caching of frames: entity tags and the Cache-Control of immutable URLs."""

from __future__ import annotations

import hashlib

from .. import __version__

#: ``Cache-Control`` of responses whose URL always names the same bytes.
IMMUTABLE = "private, max-age=31536000, immutable"


def frame_etag(kind: str, sop_uid: str, frame: int, *variant: object) -> str:
    """Return a strong entity tag for one encoding of one frame.

    Parameters
    ----------
    kind : str
        The encoding, ``"raw"`` or ``"png"``.
    sop_uid : str
        (0008,0018) *SOPInstanceUID* of the instance; a stored file never changes
        under its UID, so the UID and the frame number name the pixels.
    frame : int
        Frame index, from 0.
    *variant : object
        Anything else that changes the bytes (the window of a PNG).

    Returns
    -------
    str
        A quoted tag. The package version is part of it, so that a release that
        changes an encoding does not match tags given out by an older one. The
        UID is hashed, not shown.
    """
    parts = [__version__, kind, sop_uid, str(frame), *(repr(v) for v in variant)]
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return f'"{digest}"'
