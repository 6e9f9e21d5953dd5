"""The console's panels; each takes what it shows from the engine through the bridge or the store."""
