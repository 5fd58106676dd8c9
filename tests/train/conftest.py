"""Small shared pieces for the training tests."""
import numpy as np
import pytest

import nabla as nb
from nabla import nn, optim
from nabla.data import DataLoader, TensorDataset


def make_run(generator=False, dropout=0.2, lr=0.1):
    """A seeded model, optimizer, scheduler and shuffling loader on fixed 2-D data."""
    rs = np.random.RandomState(0)
    x = nb.tensor(rs.randn(96, 2).astype("float32"))
    y = nb.tensor(((rs.randn(96) + x.numpy()[:, 0] * 2) > 0).astype("int64"))
    nb.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Dropout(dropout), nn.Linear(16, 2))
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.8)
    gen = nb.Generator().manual_seed(7) if generator else None
    train = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=gen)
    val = DataLoader(TensorDataset(x, y), batch_size=48)
    return model, opt, sched, train, val


@pytest.fixture
def run_parts():
    return make_run
