"""The Qt operator console. Depends on app/, never the reverse."""
