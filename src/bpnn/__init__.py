"""bpnn: a fully connected neural network trained by backpropagation, from first principles.

The public API, re-exported explicitly:

- ``Network``: the vectorised engine (rows are samples); ``bpnn.neurons`` holds the object engine.
- ``get_activation``, ``get_loss``, ``one_hot``: components by name.
- ``SGD``, ``Adam``, ``make_optimizer``, ``learning_rate``: optimisers and schedules.
- ``load``, ``load_model``, ``save_model``: model files (.npz + JSON, no pickle).
"""
from .activations import ACTIVATIONS, get_activation
from .checkpoint import load, load_model, save_model
from .errors import BpnnError, FormatError
from .losses import LOSSES, get_loss, one_hot
from .network import Dense, Network
from .optim import SGD, Adam, learning_rate, make_optimizer

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS", "LOSSES", "Adam", "BpnnError", "Dense", "FormatError", "Network", "SGD",
    "get_activation", "get_loss", "learning_rate", "load", "load_model", "make_optimizer",
    "one_hot", "save_model", "__version__",
]
