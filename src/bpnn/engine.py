"""What the two engines' network classes share: the names they report about themselves.

``bpnn.Network`` (vectorised) and ``bpnn.ObjectNetwork`` (node by node) store their layers
differently; each says which activation each computing layer has (``layer_activations``), and
the names that models, reports and the CLI read are derived here, once.
"""

from __future__ import annotations

from .activations import Activation
from .losses import Loss

__all__ = ["EngineNames"]


class EngineNames:
    """``activation`` (the hidden layers'), ``output`` and ``loss_name``, for a class with a
    ``loss_fn`` and ``layer_activations()``."""

    loss_fn: Loss

    def layer_activations(self) -> list[Activation]:
        """The activation of each computing layer, the first hidden one to the output."""
        raise NotImplementedError

    @property
    def activation(self) -> str:
        """The hidden layers' activation ("sigmoid", the tutorial's, when there is none)."""
        acts = self.layer_activations()
        return acts[0].name if len(acts) > 1 else "sigmoid"

    @property
    def output(self) -> str:
        return self.layer_activations()[-1].name

    @property
    def loss_name(self) -> str:
        """The loss's registry name (``loss_fn`` is the loss itself, ``loss_value`` its value)."""
        return self.loss_fn.name
