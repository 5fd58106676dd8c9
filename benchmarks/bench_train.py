"""Training-step time against PyTorch 2.13 CPU, in one run (see common.py).

One step = forward + loss + backward + optimizer step (SGD with momentum),
for the same architecture written once and built from ``torch.nn`` and from
``nabla.nn`` (the APIs match), with PyTorch's initial weights copied into
nabla's model.

    python benchmarks/bench_train.py              # all models
    python benchmarks/bench_train.py lenet mlp    # some of them
"""
from __future__ import annotations

import sys

import numpy as np

from common import compare, table, torch, train_step_pair, turn_seconds

import nabla as nb


def mlp(nn):
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def cifar_net(nn):
    return nn.Sequential(
        nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
        nn.ReLU(), nn.Linear(84, 10))


def resnet20(nn):
    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                              nn.BatchNorm2d(cout))
            self.relu = nn.ReLU()

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + self.shortcut(x))

    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        for i in range(3):
            layers.append(Block(cin, cout, stride if i == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


MODELS = {  # name -> (builder, input shape, batch)
    "mlp": (mlp, (784,), 128),
    "lenet": (lenet, (1, 28, 28), 64),
    "cifar_net": (cifar_net, (3, 32, 32), 64),
    "resnet20": (resnet20, (3, 32, 32), 64),
}


def step_pair(name: str):
    build, shape, batch = MODELS[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *shape)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    return train_step_pair(name, build, x, y, "SGD", lr=0.01, momentum=0.9)


if __name__ == "__main__":
    turn = turn_seconds(3.0)
    names = sys.argv[1:] or list(MODELS)
    print(f"nabla {nb.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads)")
    rows = []
    for name in names:
        step_n, step_t = step_pair(name)
        _, shape, batch = MODELS[name]
        rows.append((f"{name}, batch {batch}, input {shape}",
                     compare(step_n, step_t, blocks=7, block_s=turn)))
        print(table(rows[-1:]), flush=True)
    print()
    print(table(rows))
