"""PyInstaller entry point of the console (the gui-script `execution-console`)."""

from ui.main import main

raise SystemExit(main())
