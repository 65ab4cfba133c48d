"""The exceptions claripacs-jupyter raises: one base, a few a caller can act on."""


class ClaripacsError(Exception):
    """Base of every error that claripacs-jupyter raises on purpose.

    The server extension maps each subclass to one HTTP status in one place;
    library code raises these with a message that says what was wrong and what
    to do about it.
    """

    http_status = 400


class InvalidInputError(ClaripacsError):
    """An input (a file, an archive, a request) cannot be used as given."""

    http_status = 400


class InvalidDicomError(InvalidInputError):
    """A file is not DICOM, is truncated, or lacks what a reader needs."""


class ImageTooLargeError(InvalidInputError):
    """A header declares more pixels than the store's limit allows."""

    http_status = 413


class ArchiveError(InvalidInputError):
    """A ZIP archive is unsafe (a path leaving the folder, a bomb) or unreadable."""


class NotFoundError(ClaripacsError):
    """A case, series, instance or frame does not exist in the store."""

    http_status = 404


class StoreError(ClaripacsError):
    """The store cannot be opened or written, or its settings are inconsistent."""

    http_status = 409
