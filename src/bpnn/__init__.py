"""bpnn: a fully connected neural network trained by backpropagation, from first principles.

The public API, re-exported explicitly:

- ``Network``: the vectorised engine (rows are samples); ``bpnn.neurons`` holds the object engine.
- ``get_activation``, ``get_loss``, ``one_hot``: components by name.
- ``SGD``, ``Adam``, ``make_optimizer``, ``learning_rate``: optimisers and schedules.
- ``fit``: train on arrays (classification or regression) -> ``Model``; ``Trainer``,
  ``TrainConfig``: the training loop and its settings, for finer control.
- ``Model``, ``load``: a trained network with its preprocessing and classes; ``load_model``,
  ``save_model``: the model file itself (.npz + JSON, no pickle).
- ``Preprocessing``, ``Targets``: what features and targets go through.
"""

from .activations import ACTIVATIONS, get_activation
from .errors import BpnnError, FormatError
from .fitting import fit
from .losses import LOSSES, get_loss, one_hot
from .model import Model, load
from .modelfile import load_model, save_model
from .network import Dense, Network
from .optim import SGD, Adam, learning_rate, make_optimizer
from .preprocessing import Preprocessing
from .settings import TrainConfig
from .targets import Targets
from .train import Trainer

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "SGD",
    "Adam",
    "BpnnError",
    "Dense",
    "FormatError",
    "Model",
    "Network",
    "Preprocessing",
    "Targets",
    "TrainConfig",
    "Trainer",
    "__version__",
    "fit",
    "get_activation",
    "get_loss",
    "learning_rate",
    "load",
    "load_model",
    "make_optimizer",
    "one_hot",
    "save_model",
]
