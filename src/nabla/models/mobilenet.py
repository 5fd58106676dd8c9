"""MobileNet (v1): depthwise-separable convolutions.

Reference: A. G. Howard et al., "MobileNets: Efficient convolutional neural
networks for mobile vision applications", arXiv:1704.04861, 2017.

Each block is a 3x3 depthwise convolution (``groups`` = channels: one filter
per channel) then a 1x1 pointwise convolution mixing channels, each followed
by batch norm and ReLU: about 8-9x fewer multiply-adds than a full 3x3
convolution. ``blocks`` is the paper's table 1 ((channels, stride) per block);
``width_mult`` is its width multiplier alpha. The stem has stride 1 for inputs
of 64x64 or less (CIFAR practice), 2 otherwise as in the paper.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import nn
from ..ops.shape import flatten

PAPER_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
                (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


@dataclass
class Config:
    input_shape: tuple = (3, 32, 32)  # (C, H, W)
    num_classes: int = 10
    width_mult: float = 1.0           # alpha: scales every layer's channels
    stem_channels: int = 32
    blocks: tuple = PAPER_BLOCKS      # (output channels, stride) of each block


class DepthwiseSeparable(nn.Module):
    """x (B, cin, H, W) -> (B, cout, H / stride, W / stride)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, stride=stride, padding=1, groups=cin,
                                   bias=False)
        self.bn1 = nn.BatchNorm2d(cin)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.relu(self.bn1(self.depthwise(x)))  # (B, cin, H', W'): per-channel filters
        return self.relu(self.bn2(self.pointwise(x)))  # (B, cout, H', W'): channel mixing


class MobileNet(nn.Module):
    """x (B, C, H, W) -> logits (B, num_classes)."""

    def __init__(self, config: Config | None = None):
        super().__init__()
        self.config = config = config or Config()

        def scaled(c: int) -> int:
            return max(8, int(c * config.width_mult))

        channels, height = config.input_shape[0], config.input_shape[1]
        stem = scaled(config.stem_channels)
        stride = 1 if height <= 64 else 2
        layers: list[nn.Module] = [nn.Sequential(
            nn.Conv2d(channels, stem, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(stem), nn.ReLU())]
        cin = stem
        for cout, block_stride in config.blocks:
            layers.append(DepthwiseSeparable(cin, scaled(cout), block_stride))
            cin = scaled(cout)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(cin, config.num_classes)

    def forward(self, x):
        x = self.avgpool(self.features(x))      # (B, C_last, 1, 1)
        return self.classifier(flatten(x, 1))   # (B, num_classes)


def mobilenet(**kwargs) -> MobileNet:
    return MobileNet(Config(**kwargs))
