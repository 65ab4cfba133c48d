"""Reading DICOM files and the display pipeline, free of any Jupyter import."""

from .display import render
from .pixels import frame, frames, modality_values, padding_mask
from .png import to_png
from .reading import (
    HeaderRead,
    ReadLimits,
    check_image_size,
    lenient_values,
    read,
    read_header,
)
from .transport import image_info, raw_frame
from .voi import Window, default_window, windows

__all__ = [
    "HeaderRead",
    "ReadLimits",
    "Window",
    "check_image_size",
    "default_window",
    "frame",
    "frames",
    "image_info",
    "lenient_values",
    "modality_values",
    "padding_mask",
    "raw_frame",
    "read",
    "read_header",
    "render",
    "to_png",
    "windows",
]
