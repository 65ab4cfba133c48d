"""Where the embedded store lives: --data, CLARIPACS_DATA, else the data dir."""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir

ENV_VAR = "CLARIPACS_DATA"


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the folder of the embedded store.

    Parameters
    ----------
    explicit : str or PathLike, optional
        A folder named by the caller (the ``--data`` option or a config trait).
        It wins over the ``CLARIPACS_DATA`` environment variable, which wins
        over ``<jupyter data dir>/claripacs``.

    Returns
    -------
    pathlib.Path
        An absolute path; the folder is not created here.
    """
    if explicit:
        return Path(explicit).expanduser().resolve()
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return Path(from_env).expanduser().resolve()
    return (Path(jupyter_data_dir()) / "claripacs").resolve()
