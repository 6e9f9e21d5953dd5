"""File names the inbox makes from upstream's: they must fit the file system, whatever upstream chose.

A name is measured as the file system measures it (bytes, on POSIX) against its own limit (NAME_MAX,
255 on the usual ones).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_USUAL_NAME_MAX = 255


def name_max(folder: Path) -> int:
    """The longest name `folder`'s file system takes."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):  # Windows has no pathconf; its limit is 255 too
        return _USUAL_NAME_MAX


def name_length(name: str) -> int:
    return len(os.fsencode(name))


def fitting(folder: Path, stem: str, suffix: str) -> str:
    """`stem + suffix`, or, when that is too long for `folder`, the stem cut short and marked with a hash
    of the whole (so two long names cut alike stay apart)."""
    longest = name_max(folder)
    if name_length(stem + suffix) <= longest:
        return stem + suffix
    mark = "~" + hashlib.sha256(os.fsencode(stem)).hexdigest()[:12]
    room = longest - name_length(mark + suffix)
    cut = stem
    while name_length(cut) > room:  # by characters, so that a multi-byte one is never split
        cut = cut[:-1]
    return cut + mark + suffix
