"""Shared plotting pieces: the style (colours, zoom), Qt helpers and safe text."""
