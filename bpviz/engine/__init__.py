"""The bpviz engine: pure numpy, no Qt.

Every number the window shows is computed here and can be used from scripts and notebooks::

    from bpviz.engine import Network
    net = Network([2, 3, 3], hidden_activation="sigmoid", output="softmax", seed=0)
    trace = net.backprop(X, T)      # forward + backward, no update
    trace.deltas[0]                 # per-sample ∂ℓ_n/∂z of the first hidden layer

Layers are numbered one way everywhere: layer 0 is the input, layer l ≥ 1 is fed by
``net.weights[l − 1]`` and ``net.biases[l − 1]``, and layer L = ``net.n_layers`` is the output. A
"layer" argument, a neuron ``L:J`` and every docstring use this numbering; lists indexed like
``weights`` (a trace's deltas and gradients) hold layer l at index l − 1. The surface slice's
``Axis.layer`` names a weight array, ``weights[layer]``, as saved in sessions: the diagram's layer
``layer + 1``.
"""

from .config import PRESETS, Config, build
from .data import Dataset
from .errors import BpvizError, ConfigError, DataError, SessionError
from .functions import ACTIVATIONS, OUTPUTS
from .gradcheck import gradient_check
from .network import INITS, Network, Trace
from .optimizers import OPTIMIZERS
from .trainer import Divergence, History, Trainer

__all__ = [
    "ACTIVATIONS", "OUTPUTS", "INITS", "OPTIMIZERS", "PRESETS",
    "BpvizError", "ConfigError", "DataError", "SessionError",
    "Config", "Dataset", "Divergence", "History", "Network", "Trace", "Trainer",
    "build", "gradient_check",
]
