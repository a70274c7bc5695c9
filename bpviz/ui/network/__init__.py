"""The network diagram: its layout, its drawn items and the raster for large networks."""
