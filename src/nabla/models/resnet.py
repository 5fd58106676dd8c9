"""Residual networks: CIFAR-style ResNet-20/32/44/56/110 and ResNet-18/34.

Reference: K. He, X. Zhang, S. Ren, J. Sun, "Deep residual learning for image
recognition", CVPR 2016 (section 4.2 for the CIFAR networks).

Basic blocks (two 3x3 convolutions with batch norm) and a projection shortcut
(1x1 convolution + batch norm, the paper's option B) wherever the shape
changes. CIFAR depths (6n + 2) have three stages of 16, 32, 64 channels and a
3x3 stem; depths 18 and 34 have four stages of 64...512 channels and either the
ImageNet stem (7x7 stride-2 convolution and a max pool: exactly torchvision's
``resnet18``) or, for small images, the 3x3 stride-1 stem (``stem="cifar"``).
Parameter names follow torchvision: conv1, bn1, layer{i}.{j}.conv1/bn1/conv2/bn2,
layer{i}.{j}.downsample.0/1, fc.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import nn
from ..ops.shape import flatten

IMAGENET_BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


@dataclass
class Config:
    input_shape: tuple = (3, 32, 32)  # (C, H, W)
    num_classes: int = 10
    depth: int = 20                   # 6n + 2 (CIFAR: 20, 32, 44, 56, 110) or 18, 34
    stem: str = "cifar"               # "cifar" (3x3, stride 1) or "imagenet" (7x7/2 + pool)


class BasicBlock(nn.Module):
    """x (B, cin, H, W) -> (B, cout, H / stride, W / stride): relu(F(x) + shortcut(x))."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(cout))
        else:
            self.downsample = None

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


def _stage_plan(depth: int) -> tuple[tuple, tuple]:
    """(blocks per stage, channels per stage) for a depth."""
    if depth in IMAGENET_BLOCKS:
        return IMAGENET_BLOCKS[depth], (64, 128, 256, 512)
    if depth >= 8 and (depth - 2) % 6 == 0:
        n = (depth - 2) // 6
        return (n, n, n), (16, 32, 64)
    raise ValueError(f"resnet: depth must be 6n + 2 (20, 32, 44, 56, 110) or one of "
                     f"{sorted(IMAGENET_BLOCKS)}, got {depth}")


class ResNet(nn.Module):
    """x (B, C, H, W) -> logits (B, num_classes)."""

    def __init__(self, config: Config | None = None):
        super().__init__()
        self.config = config = config or Config()
        blocks, widths = _stage_plan(config.depth)
        channels = config.input_shape[0]
        if config.stem == "imagenet":
            self.conv1 = nn.Conv2d(channels, widths[0], 7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        elif config.stem == "cifar":
            self.conv1 = nn.Conv2d(channels, widths[0], 3, padding=1, bias=False)
            self.maxpool = None
        else:
            raise ValueError(f"resnet: stem must be 'cifar' or 'imagenet', got {config.stem!r}")
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        cin = widths[0]
        for i, (count, cout) in enumerate(zip(blocks, widths)):
            stride = 1 if i == 0 else 2  # every later stage halves the map
            stage = [BasicBlock(cin if j == 0 else cout, cout, stride if j == 0 else 1)
                     for j in range(count)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*stage))
            cin = cout
        self.num_stages = len(blocks)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, config.num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))  # (B, w0, H, W) (or H/2 with imagenet stem)
        if self.maxpool is not None:
            x = self.maxpool(x)                 # (B, 64, H/4, W/4)
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)  # channels double, maps halve per stage
        x = flatten(self.avgpool(x), 1)         # (B, w_last)
        return self.fc(x)                       # (B, num_classes)


def resnet(**kwargs) -> ResNet:
    return ResNet(Config(**kwargs))


def resnet20(**kwargs) -> ResNet:
    return ResNet(Config(depth=20, **kwargs))


def resnet32(**kwargs) -> ResNet:
    return ResNet(Config(depth=32, **kwargs))


def resnet18(**kwargs) -> ResNet:
    return ResNet(Config(depth=18, **kwargs))
