"""PyInstaller entry point of the headless engine (the console script `execution-engine`)."""

from app.interfaces.cli import main

raise SystemExit(main())
