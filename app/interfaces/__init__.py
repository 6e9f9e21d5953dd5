"""How requests reach the engine and users reach the store: the local HTTP API (`api`), the file-drop
inbox (`intake`) and the `execution-engine` command line (`cli`, `startup`)."""
