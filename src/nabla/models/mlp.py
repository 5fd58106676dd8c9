"""Multi-layer perceptron: Linear -> activation (-> Dropout) blocks, then a linear head.

Reference: D. E. Rumelhart, G. E. Hinton, R. J. Williams, "Learning
representations by back-propagating errors", Nature 323, 1986.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .. import nn

_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "gelu": "GELU",
                "silu": "SiLU", "leaky_relu": "LeakyReLU", "elu": "ELU"}


@dataclass
class Config:
    input_shape: tuple = (1, 8, 8)  # one sample's shape; flattened to its product
    num_classes: int = 10
    hidden: tuple = (128, 64)       # width of each hidden layer
    activation: str = "relu"
    dropout: float = 0.0            # after every hidden activation when > 0


def activation_layer(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of "
                         f"{', '.join(_ACTIVATIONS)}")
    return getattr(nn, _ACTIVATIONS[name])()


class MLP(nn.Module):
    """x (B, *input_shape) -> logits (B, num_classes).

    Parameters are ``net.{i}.weight`` / ``net.{i}.bias`` of one ``Sequential``:
    Flatten, then per hidden layer Linear, activation (and Dropout), then Linear.
    """

    def __init__(self, config: Config | None = None):
        super().__init__()
        self.config = config = config or Config()
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(config.input_shape)
        for hidden in config.hidden:
            layers += [nn.Linear(width, hidden), activation_layer(config.activation)]
            if config.dropout > 0:
                layers.append(nn.Dropout(config.dropout))
            width = hidden
        layers.append(nn.Linear(width, config.num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)  # (B, *input_shape) -> (B, num_classes)


def mlp(**kwargs) -> MLP:
    return MLP(Config(**kwargs))
