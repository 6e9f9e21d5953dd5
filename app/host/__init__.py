"""The process on the desk's machine: settings, logs, secrets, owner-only files, and building and
running the engine, the API and the inbox as one service (`runtime`, `service`)."""
