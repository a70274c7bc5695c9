"""The window: one module per panel plus the main window. Panels only read snapshots."""
