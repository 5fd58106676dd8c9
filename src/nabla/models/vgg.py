"""VGG: stacks of 3x3 convolutions separated by 2x2 max pools.

Reference: K. Simonyan, A. Zisserman, "Very deep convolutional networks for
large-scale image recognition", ICLR 2015.

``depth`` picks the paper's configuration (11 = A, 13 = B, 16 = D, 19 = E):
five stages of 3x3 convolutions (padding 1) each ending in a 2x2 max pool.
On inputs smaller than 32x32 the pools that would shrink a 1x1 map are left
out (an 8x8 digit keeps three). The head is the CIFAR variant (one hidden
layer of ``hidden``), and ``width`` scales every stage (64 in the paper).
Names follow torchvision: ``features.*`` and ``classifier.*``.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import nn
from ..ops.shape import flatten

# convolutions per stage for each depth (the paper's table 1)
STAGES = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}


@dataclass
class Config:
    input_shape: tuple = (3, 32, 32)  # (C, H, W)
    num_classes: int = 10
    depth: int = 11                   # 11, 13, 16 or 19 weight layers
    width: int = 64                   # channels of the first stage; doubled up to 8x
    batch_norm: bool = True
    hidden: int = 512
    dropout: float = 0.5


class VGG(nn.Module):
    """x (B, C, H, W) -> logits (B, num_classes)."""

    def __init__(self, config: Config | None = None):
        super().__init__()
        self.config = config = config or Config()
        if config.depth not in STAGES:
            raise ValueError(f"vgg: depth must be one of {sorted(STAGES)}, got {config.depth}")
        channels, side = config.input_shape[0], min(config.input_shape[1:])
        layers: list[nn.Module] = []
        for stage, convs in enumerate(STAGES[config.depth]):
            out = config.width * min(2 ** stage, 8)  # 64, 128, 256, 512, 512
            for _ in range(convs):
                layers.append(nn.Conv2d(channels, out, 3, padding=1))
                if config.batch_norm:
                    layers.append(nn.BatchNorm2d(out))
                layers.append(nn.ReLU())
                channels = out
            if side >= 2:  # a pool on a 1x1 map would leave nothing
                layers.append(nn.MaxPool2d(2))
                side //= 2
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(channels, config.hidden), nn.ReLU(), nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.num_classes),
        )

    def forward(self, x):
        x = self.avgpool(self.features(x))     # (B, 8 * width, 1, 1)
        return self.classifier(flatten(x, 1))  # (B, num_classes)


def vgg(**kwargs) -> VGG:
    return VGG(Config(**kwargs))


def vgg11(**kwargs) -> VGG:
    return VGG(Config(depth=11, **kwargs))


def vgg16(**kwargs) -> VGG:
    return VGG(Config(depth=16, **kwargs))
