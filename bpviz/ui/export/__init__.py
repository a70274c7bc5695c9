"""Pictures and files out of the window: Export, the picture formats, runs compared."""
