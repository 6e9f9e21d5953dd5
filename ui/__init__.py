"""The Qt operator console. Depends on app/, never the reverse."""

from ui import qt_compat as _qt_compat  # first: before anything in the console emits a Qt signal

__all__ = ["_qt_compat"]
