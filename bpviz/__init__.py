"""bpviz: see backpropagation happen, number by number."""

__version__ = "0.1.0"
