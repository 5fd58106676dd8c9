"""Multinomial logistic regression: one linear layer and a softmax (in the loss).

Reference: D. R. Cox, "The regression analysis of binary sequences", J. Royal
Statistical Society B, 1958 (the softmax / multinomial form is the same model
with one score per class). Train it with ``nn.CrossEntropyLoss``, which applies
the log-softmax, so ``forward`` returns the class scores (logits).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .. import nn


@dataclass
class Config:
    input_shape: tuple = (1, 8, 8)  # one sample's shape; flattened to its product
    num_classes: int = 10


class LogisticRegression(nn.Module):
    """x (B, *input_shape) -> logits (B, num_classes)."""

    def __init__(self, config: Config | None = None):
        super().__init__()
        self.config = config = config or Config()
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(math.prod(config.input_shape), config.num_classes)

    def forward(self, x):
        return self.linear(self.flatten(x))  # (B, F) -> (B, num_classes)


def logistic_regression(**kwargs) -> LogisticRegression:
    return LogisticRegression(Config(**kwargs))
