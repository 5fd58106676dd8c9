"""A plain PyTorch-style training loop on the bundled 8x8 digits.

Shows: a ``Dataset`` subclass and ``DataLoader``, an ``nn.Sequential`` MLP,
``nn.CrossEntropyLoss``, ``optim.AdamW`` with a cosine learning-rate schedule, train/eval
modes (dropout), ``no_grad`` evaluation, and saving / loading a ``state_dict`` with
``nabla.save`` / ``nabla.load``. Swap ``import nabla as torch`` for ``import torch`` (and the
Digits import for your own data) and the loop is PyTorch's.

Run: python examples/02_train_loop_digits.py
"""
import os
import tempfile

import nabla as torch
from nabla import nn
from nabla.data.datasets import Digits
from nabla.utils.data import DataLoader, Dataset


class FlatDigits(Dataset):
    """Digits as flat 64-pixel vectors, standardised with the training set's statistics."""

    def __init__(self, train: bool, mean=None, std=None):
        digits = Digits(train=train)
        x = digits.data.reshape(len(digits), 64)         # (N, 64)
        self.mean = x.mean(0) if mean is None else mean
        self.std = x.std(0) + 0.1 if std is None else std
        self.x = (x - self.mean) / self.std
        self.y = digits.targets                           # (N,)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def accuracy(model, loader) -> float:
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
            total += len(y)
    model.train()
    return correct / total


def main(quick: bool = False) -> dict:
    torch.manual_seed(0)
    train_set = FlatDigits(train=True)
    test_set = FlatDigits(train=False, mean=train_set.mean, std=train_set.std)
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=256)

    model = nn.Sequential(
        nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )
    loss_fn = nn.CrossEntropyLoss()
    epochs = 6 if quick else 20
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)

    for epoch in range(epochs):
        total_loss = 0.0
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(y)
        scheduler.step()
        if epoch % 5 == 4 or epoch == epochs - 1:
            print(f"epoch {epoch + 1:2d}  train loss {total_loss / len(train_set):.4f}  "
                  f"test accuracy {accuracy(model, test_loader):.4f}")
    test_acc = accuracy(model, test_loader)

    # save the weights, load them into a fresh model, and check it predicts the same
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "digits_mlp.pt")
        torch.save(model.state_dict(), path)
        restored = nn.Sequential(
            nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.2),
            nn.Linear(128, 64), nn.ReLU(),
            nn.Linear(64, 10),
        )
        restored.load_state_dict(torch.load(path))
    restored_acc = accuracy(restored, test_loader)
    print(f"test accuracy {test_acc:.4f}; after save/load {restored_acc:.4f}")
    return {"test_accuracy": test_acc, "restored_accuracy": restored_acc}


if __name__ == "__main__":
    main()
