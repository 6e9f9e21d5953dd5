"""`execution-engine sim-run`: a user's own MetaTrader5 script, unchanged, on the simulator (docs/CONTRACT.md §6a).

The script runs as `python SCRIPT ARGS…` would run it (__name__ "__main__", sys.argv, its directory
first on sys.path, its exit status and its own traceback), with open_terminal()'s module installed
as `MetaTrader5`.
"""

from __future__ import annotations

import runpy
import sys
import traceback
from pathlib import Path
from types import TracebackType

from app.adapters.sim.module import open_terminal


def run_script(script: Path, args: list[str], scenario: Path | None) -> int:
    """The script's exit status. A scenario or script that cannot be read raises ValueError/OSError
    before the script starts; whatever the script raises is reported as Python would report it."""
    mt5 = open_terminal(scenario)
    if not script.exists():
        raise FileNotFoundError(f"can't open file {str(script)!r}: no such file")
    argv, path, previous = sys.argv, sys.path[:], sys.modules.get("MetaTrader5")
    sys.modules["MetaTrader5"] = mt5
    sys.argv = [str(script), *args]
    sys.path.insert(0, str(script.resolve().parent))
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        return _status(exc.code)
    except BaseException as exc:  # the script's own failure, KeyboardInterrupt included
        traceback.print_exception(type(exc), exc, _from_script(exc.__traceback__, str(script)))
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    finally:
        sys.argv, sys.path[:] = argv, path
        if previous is None:
            sys.modules.pop("MetaTrader5", None)
        else:
            sys.modules["MetaTrader5"] = previous
    return 0


def _status(code: object) -> int:
    # as the interpreter exits: None is 0, an int itself, anything else printed and 1
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _from_script(tb: TracebackType | None, filename: str) -> TracebackType | None:
    """The traceback from the script's first frame on: the runner's frames are not the user's."""
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    return tb
