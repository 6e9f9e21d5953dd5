"""PyInstaller entry point of the headless engine (the console script `execution-engine`)."""

from app.cli import main

raise SystemExit(main())
