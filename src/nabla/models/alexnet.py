"""A small AlexNet-style network for 32x32 images (CIFAR-10 size).

Reference: A. Krizhevsky, I. Sutskever, G. E. Hinton, "ImageNet classification
with deep convolutional neural networks", NeurIPS 2012.

The layout of the original (five convolutions with ReLU, three max pools,
dropout before two wide fully connected layers) with 3x3 kernels and stride 1,
as suits 32x32 inputs instead of 224x224; ``widths`` and ``hidden`` scale it.
Parameter names follow torchvision's AlexNet: ``features.*``, ``classifier.*``.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import nn
from ..ops.shape import flatten


@dataclass
class Config:
    input_shape: tuple = (3, 32, 32)            # (C, H, W)
    num_classes: int = 10
    widths: tuple = (64, 192, 384, 256, 256)    # channels of the five convolutions
    hidden: int = 1024                          # width of the two hidden FC layers
    dropout: float = 0.5


class AlexNet(nn.Module):
    """x (B, C, H, W) -> logits (B, num_classes)."""

    def __init__(self, config: Config | None = None):
        super().__init__()
        self.config = config = config or Config()
        w1, w2, w3, w4, w5 = config.widths
        channels = config.input_shape[0]

        def conv(cin: int, cout: int) -> list:
            return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]

        self.features = nn.Sequential(
            *conv(channels, w1), nn.MaxPool2d(2),   # (B, w1, H/2, W/2)
            *conv(w1, w2), nn.MaxPool2d(2),         # (B, w2, H/4, W/4)
            *conv(w2, w3), *conv(w3, w4), *conv(w4, w5),
            nn.MaxPool2d(2),                        # (B, w5, H/8, W/8)
        )
        # a fixed 2x2 grid whatever the input size (4x4 -> 2x2 for 32x32 inputs)
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(w5 * 4, config.hidden), nn.ReLU(),
            nn.Dropout(config.dropout), nn.Linear(config.hidden, config.hidden), nn.ReLU(),
            nn.Linear(config.hidden, config.num_classes),
        )

    def forward(self, x):
        x = self.avgpool(self.features(x))  # (B, w5, 2, 2)
        return self.classifier(flatten(x, 1))  # (B, num_classes)


def alexnet(**kwargs) -> AlexNet:
    return AlexNet(Config(**kwargs))
