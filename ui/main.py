"""`execution-console`: the operator console with the engine, the local API and the inbox inside.

    execution-console [--demo] [--broker sim|mt5] [--db URL] [--sim-scenario FILE] [--port N]
                      [--inbox DIR] [--data-dir DIR] [--order-timeout S] [--max-spread-pips P]
                      [--position-check-interval S]

Flags win over EXEC_* environment variables, which win over the defaults (docs/CONTRACT.md §1).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app import __version__
from app.adapters.files import restrict_to_owner
from app.host.logs import configure_logging
from app.host.settings import APP_NAME, Settings, default_data_dir
from app.interfaces.cli import engine_flags
from app.interfaces.startup import SettingProblem, prepare_data_dir
from app.tools.demo import DEMO_ORDER_TIMEOUT_S, DEMO_SCENARIO_FILE

ORGANIZATION = APP_NAME
SETTINGS_NAME = "console"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="execution-console", description="FX execution console for MetaTrader 5")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument(
        "--demo",
        action="store_true",
        help="the simulator with a synthetic RPM feed; its own data dir (<data dir>/demo) unless --data-dir/--db",
    )
    engine_flags(p)
    p.add_argument("--port", type=int, help="local API port (8787; 0: any free port)")
    p.add_argument("--inbox", type=Path, help="file-drop inbox folder for RPMOutputs")
    p.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    return p


def build_settings(args: argparse.Namespace, environ: dict[str, str] | None = None) -> Settings:
    """Settings from the flags; the demo never writes into the desk's own store unless told to."""
    env = os.environ if environ is None else environ
    names = (
        "broker",
        "db_url",
        "sim_scenario",
        "port",
        "inbox",
        "data_dir",
        "order_timeout_s",
        "max_spread_pips",
        "position_check_s",
        "broker_trace",
    )
    given: dict[str, Any] = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    if args.demo:
        if given.get("broker", "sim") != "sim":
            raise SystemExit("execution-console: --demo runs on the simulator; drop --broker mt5")
        given["broker"] = "sim"
        given.setdefault("sim_scenario", DEMO_SCENARIO_FILE)
        if "data_dir" not in given and "db_url" not in given:
            # A data dir of its own, whatever EXEC_DATA_DIR / EXEC_DB_URL say: demo trades never mix
            # with the desk's audit trail.
            given["data_dir"] = default_data_dir() / "demo"
            given["db_url"] = f"sqlite:///{given['data_dir'] / 'executions.db'}"
        if "order_timeout_s" not in given and "EXEC_ORDER_TIMEOUT_S" not in env:
            given["order_timeout_s"] = DEMO_ORDER_TIMEOUT_S  # stale orders show within seconds
    return Settings(**given)


def with_usable_data_dir(settings: Settings) -> Settings | None:
    """The settings with a data dir files can be written to: one that cannot be used is named in a
    dialog offering another folder. None when the trader quits instead."""
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    while True:
        try:
            prepare_data_dir(settings.data_dir)
            return settings
        except SettingProblem as problem:
            print(f"execution-console: {problem}", file=sys.stderr)
            box = QMessageBox(
                QMessageBox.Icon.Critical, "The console could not start", str(problem), QMessageBox.StandardButton.Close
            )
            choose = box.addButton("Choose another folder…", QMessageBox.ButtonRole.AcceptRole)
            box.exec()  # no event loop of the console's runs yet: a modal one is safe here
            if box.clickedButton() is not choose:
                return None
            folder = QFileDialog.getExistingDirectory(None, "A folder for the console's data")
            if not folder:
                return None
            moved: dict[str, Any] = {"data_dir": Path(folder)}
            if settings.db_url == f"sqlite:///{settings.data_dir / 'executions.db'}":
                moved["db_url"] = None  # the store was the data dir's own (the demo's): it moves with it
            settings = settings.model_copy(update=moved)


def main(argv: Sequence[str] | None = None) -> int:
    restrict_to_owner()  # the store, logs and exports are never other users' to read
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = build_settings(args)

    # Qt only from here: --version and --help answer without a display.
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from ui.app import Console, run
    from ui.main_window import MainWindow
    from ui.single_instance import SingleInstance
    from ui.theme import ThemeChoice

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName("FX Execution Console")
    app.setApplicationVersion(__version__)

    usable = with_usable_data_dir(settings)
    if usable is None:
        return 2
    settings = usable
    configure_logging(settings.data_dir)  # JSON lines for the desk's log pipeline (Help → Open the log folder)

    instance = SingleInstance(settings.data_dir)
    if not instance.acquire():
        told = instance.notify_running()
        print(
            f"execution-console: a console is already running on {settings.data_dir}"
            + ("; brought its window forward" if told else ""),
            file=sys.stderr,
        )
        return 0
    try:
        qsettings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, SETTINGS_NAME)
        try:
            theme = ThemeChoice(str(qsettings.value("theme", ThemeChoice.SYSTEM.value)))
        except ValueError:
            theme = ThemeChoice.SYSTEM
        try:
            console = Console(settings, demo=args.demo)  # stage 1: objects only
        except ValueError as exc:
            print(f"execution-console: {exc}", file=sys.stderr)
            return 2
        window = MainWindow(qsettings, theme)
        instance.activated.connect(window.bring_forward)
        return run(app, console, window)
    finally:
        instance.release()


if __name__ == "__main__":
    raise SystemExit(main())
