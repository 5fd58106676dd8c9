"""The CIFAR-10 network of PyTorch's "Training a classifier" tutorial.

conv(3, 6, 5) -> ReLU -> max-pool 2 -> conv(6, 16, 5) -> ReLU -> max-pool 2 ->
400 -> 120 -> 84 -> 10, with the tutorial's attribute names (conv1, pool,
conv2, fc1, fc2, fc3), so its state dict loads key for key. It is a LeNet-5
(LeCun et al., 1998) on 3x32x32 colour images.
Reference: PyTorch tutorials, "Deep Learning with PyTorch: A 60 Minute Blitz".
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import nn
from ..ops.shape import flatten


@dataclass
class Config:
    input_shape: tuple = (3, 32, 32)  # the tutorial's size; 5 x 5 maps after two pools
    num_classes: int = 10


class CifarNet(nn.Module):
    """x (B, 3, 32, 32) -> logits (B, num_classes)."""

    def __init__(self, config: Config | None = None):
        super().__init__()
        self.config = config = config or Config()
        channels, height, width = config.input_shape
        if height < 16 or width < 16:
            raise ValueError(f"cifar_net needs inputs of at least 16x16 (two 5x5 convs and "
                             f"two pools), got {height}x{width}")
        self.conv1 = nn.Conv2d(channels, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        side_h, side_w = ((height - 4) // 2 - 4) // 2, ((width - 4) // 2 - 4) // 2
        self.fc1 = nn.Linear(16 * side_h * side_w, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, config.num_classes)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))  # (B, 6, 14, 14)
        x = self.pool(self.relu(self.conv2(x)))  # (B, 16, 5, 5)
        x = flatten(x, 1)                        # (B, 400)
        x = self.relu(self.fc1(x))               # (B, 120)
        x = self.relu(self.fc2(x))               # (B, 84)
        return self.fc3(x)                       # (B, num_classes)


def cifar_net(**kwargs) -> CifarNet:
    return CifarNet(Config(**kwargs))
