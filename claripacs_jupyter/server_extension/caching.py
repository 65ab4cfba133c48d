"""What the server caches: entity tags of frames and the image info of instances."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from .. import __version__

if TYPE_CHECKING:
    from ..store import Store

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


class ImageInfoCache:
    """A bounded, thread-safe cache of ``image_info`` per stored file.

    Working out an instance's image info reads its pixels (the value range), so
    a case of a few hundred slices costs seconds; the files under a UID do not
    change, so the answer is kept, keyed by the file's path, size and mtime.
    """

    def __init__(self, maxsize: int = 8192) -> None:
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, int, int], dict[str, Any]] = OrderedDict()

    def get(self, store: Store, accession: str, sop_uid: str) -> dict[str, Any]:
        """Return the image info of one instance, reading the file on a miss.

        Raises
        ------
        claripacs_jupyter.errors.NotFoundError
            The case or the instance is not in the store.
        """
        from ..dicom import image_info

        path = store.instance_path(accession, sop_uid)
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]

        info = image_info(store.dataset(accession, sop_uid))

        with self._lock:
            self._items[key] = info
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return info
