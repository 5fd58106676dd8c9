"""LeNet-5: conv 6@5x5 -> pool -> conv 16@5x5 -> pool -> 120 -> 84 -> 10.

Reference: Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-based learning
applied to document recognition", Proc. IEEE 86(11), 1998.

LeNet-5 reads 32x32 images (the paper centres 28x28 MNIST digits in a 32x32
field), so the two 5x5 convolutions and two 2x2 pools leave 16 maps of 5x5 =
400 features. Other input sizes adapt without changing any parameter shape:
- 28x28 (MNIST): ``conv1`` pads by 2, which is the paper's 32x32 field;
- anything else, e.g. the 8x8 scikit-learn digits: the input is first resized
  to 32x32 by ``nn.Upsample`` (nearest by default: each pixel becomes a 4x4
  block; no parameters). An 8x8
  digit has too few pixels for two 5x5 convolutions, and upsampling keeps the
  exact LeNet-5 architecture (61,706 parameters for 10 classes).
The defaults are the modern variant (ReLU, max pooling); ``activation="tanh"``
with ``pool="avg"`` is closer to the 1998 network (which also had trainable
subsampling coefficients and an RBF output layer, left out here as everywhere).
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import nn
from ..ops.shape import flatten
from .mlp import activation_layer


@dataclass
class Config:
    input_shape: tuple = (1, 8, 8)  # (C, H, W); the bundled Digits by default
    num_classes: int = 10
    activation: str = "relu"        # "tanh" for the 1998 flavour
    pool: str = "max"               # "avg" for the 1998 subsampling layers
    upsample_mode: str = "nearest"  # how inputs other than 28x28 / 32x32 reach 32x32
    dropout: float = 0.0            # before each hidden FC layer (not in the paper)


class LeNet5(nn.Module):
    """x (B, C, H, W) -> logits (B, num_classes); attribute names as PyTorch users
    write them (conv1, conv2, fc1, fc2, fc3)."""

    def __init__(self, config: Config | None = None):
        super().__init__()
        self.config = config = config or Config()
        channels, height, width = config.input_shape
        padding = 0
        if (height, width) == (28, 28):
            padding = 2
        elif (height, width) != (32, 32):
            self.upsample = nn.Upsample(size=(32, 32), mode=config.upsample_mode)
        if config.pool not in ("max", "avg"):
            raise ValueError(f"lenet5: pool must be 'max' or 'avg', got {config.pool!r}")
        pool = nn.MaxPool2d if config.pool == "max" else nn.AvgPool2d
        self.conv1 = nn.Conv2d(channels, 6, 5, padding=padding)
        self.pool1 = pool(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.pool2 = pool(2, 2)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, config.num_classes)
        self.act = activation_layer(config.activation)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        if "upsample" in self._modules:
            x = self.upsample(x)                  # (B, C, 32, 32)
        x = self.pool1(self.act(self.conv1(x)))  # (B, 6, 14, 14)
        x = self.pool2(self.act(self.conv2(x)))  # (B, 16, 5, 5)
        x = self.dropout(flatten(x, 1))          # (B, 400)
        x = self.dropout(self.act(self.fc1(x)))  # (B, 120)
        x = self.act(self.fc2(x))                # (B, 84)
        return self.fc3(x)                       # (B, num_classes)


def lenet5(**kwargs) -> LeNet5:
    return LeNet5(Config(**kwargs))
