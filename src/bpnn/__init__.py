"""bpnn: a fully connected neural network trained by backpropagation, from first principles.

The public API, re-exported explicitly (the README's "The public API" shows each name in use):

- ``Network``: the vectorised engine (rows are samples); ``ObjectNetwork``: the tutorial's
  object engine (``bpnn.neurons``), node by node.
- ``ACTIVATIONS``, ``LOSSES``, ``get_activation``, ``get_loss``, ``one_hot``: components by name.
- ``SGD``, ``Adam``, ``AdamW``, ``make_optimizer``, ``learning_rate``: optimisers and schedules.
- ``check_network``, ``check_object_network``: the gradient check (formula 6) of each engine.
- ``fit``: train on arrays (classification or regression) -> ``Model``; ``Trainer``,
  ``TrainConfig``, ``Split``: the training loop, its settings and the (X, y[, weights]) it
  trains and evaluates on, for finer control.
- ``Model``, ``load``: a trained network with its preprocessing and classes, and its loader.
- ``Preprocessing``, ``Targets``: what features and targets go through.
- ``BpnnError``, ``FormatError``: the errors a user can cause.

Reachable in their modules, not re-exported: the layers (``bpnn.network.Dense``: a network is
built from its sizes, so that its config describes it), the raw model-file functions
(``bpnn.modelfile``), the object engine's Node/Connection/Layer (``bpnn.neurons``).
"""

from .activations import ACTIVATIONS, get_activation
from .data.split import Split
from .errors import BpnnError, FormatError
from .fitting import fit
from .gradcheck import check_network, check_object_network
from .losses import LOSSES, get_loss, one_hot
from .model import Model, load
from .network import Network
from .neurons import ObjectNetwork
from .optim import SGD, Adam, AdamW, learning_rate, make_optimizer
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
    "AdamW",
    "BpnnError",
    "FormatError",
    "Model",
    "Network",
    "ObjectNetwork",
    "Preprocessing",
    "Split",
    "Targets",
    "TrainConfig",
    "Trainer",
    "__version__",
    "check_network",
    "check_object_network",
    "fit",
    "get_activation",
    "get_loss",
    "learning_rate",
    "load",
    "make_optimizer",
    "one_hot",
]
