"""A PyTorch training script that changes only its imports runs unchanged on nabla.

The script below is plain PyTorch. It runs once as written (in this process,
where torch is already imported) and once with its import lines pointed at
nabla, in a fresh interpreter (so nothing this test session imported can help:
``import nabla as torch`` must bring ``torch.optim`` itself). Both start from
the same weights and data, so they must end at the same loss.
"""
import contextlib
import io
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.optest import needs_torch

SCRIPT = '''
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

data = np.load(sys.argv[1])
X = torch.tensor(data["x"], dtype=torch.float32)
y = torch.tensor(data["y"]).long()


class MLP(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.fc2 = nn.Linear(n_hidden, n_hidden)
        self.out = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = torch.tanh(self.fc2(x))
        return self.out(x)


torch.manual_seed(0)
model = MLP(4, 16, 3)
model.load_state_dict({k: torch.tensor(data[k]) for k in model.state_dict()})
loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=False)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
criterion = nn.CrossEntropyLoss()

for epoch in range(5):
    model.train()
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()

model.eval()
with torch.no_grad():
    logits = model(X)
    final_loss = F.cross_entropy(logits, y).item()
    accuracy = (logits.argmax(dim=1) == y).float().mean().item()
print(f"RESULT {final_loss:.10f} {accuracy:.10f}")
'''

CHECKPOINT = '''
torch.save(model.state_dict(), sys.argv[2])
restored = MLP(4, 16, 3)
restored.load_state_dict(torch.load(sys.argv[2]))
with torch.no_grad():
    same = bool((restored(X) == model(X)).all())
print(f"RESTORED {same}")
'''

CONV_SCRIPT = '''
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):  # the PyTorch tutorial's CIFAR net, with batch norm
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.bn = nn.BatchNorm2d(16)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.bn(self.conv2(x))))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((32, 3, 32, 32)).astype(np.float32))
y = torch.tensor(rng.integers(0, 10, 32)).long()
net = Net()
for m in net.modules():  # the legacy .data idioms of many scripts
    if isinstance(m, nn.Conv2d):
        nn.init.normal_(m.weight.data, 0.0, 0.02)
        m.bias.data.fill_(0.0)
for name, p in net.named_parameters():  # then a fixed start, the same in both frameworks
    fan = int(np.prod(p.shape[1:])) if p.dim() > 1 else 4
    p.data.copy_(torch.tensor((rng.uniform(-1, 1, tuple(p.shape)) / np.sqrt(fan))
                              .astype(np.float32)))
net.fc3.weight.data.mul_(0.5)
loader = DataLoader(TensorDataset(X, y), batch_size=8, shuffle=False, num_workers=2)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                            weight_decay=5e-4)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.9)
with torch.no_grad():
    print(f"INITIAL {F.cross_entropy(net(X), y).item():.10f}")
for epoch in range(8):
    net.train()
    for inputs, labels in loader:
        optimizer.zero_grad()
        loss = criterion(net(inputs), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm=1.0)
        optimizer.step()
    scheduler.step()
correct = total = 0
net.eval()
with torch.no_grad():
    for images, labels in DataLoader(TensorDataset(X, y), batch_size=4):
        outputs = net(images)
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
    final_loss = F.cross_entropy(net(X), y).item()
print("first weight", float(net.conv1.weight.data.numpy()[0, 0, 0, 0]))
print(f"RESULT {final_loss:.10f} {correct / total:.10f}")
'''

IMPORTS_TO_NABLA = [
    ("import torch\n", "import nabla as torch\n"),
    ("import torch.nn as nn\n", "import nabla.nn as nn\n"),
    ("import torch.nn.functional as F\n", "import nabla.nn.functional as F\n"),
    ("from torch.utils.data import", "from nabla.utils.data import"),
]


def _to_nabla(script: str) -> str:
    for old, new in IMPORTS_TO_NABLA:
        assert old in script
        script = script.replace(old, new)
    imports = [line for line in script.splitlines() if line.startswith(("import", "from"))]
    assert not any(re.match(r"(import|from) torch\b", line) for line in imports)
    return script


def _data(tmp_path) -> str:
    """Three Gaussian blobs in 4-D and a fixed starting point for the weights."""
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 4)) * 2
    y = rng.integers(0, 3, 96)
    x = (centres[y] + rng.standard_normal((96, 4))).astype(np.float32)
    weights = {"fc1.weight": (16, 4), "fc1.bias": (16,), "fc2.weight": (16, 16),
               "fc2.bias": (16,), "out.weight": (3, 16), "out.bias": (3,)}
    init = {k: (rng.uniform(-1, 1, s) / np.sqrt(s[-1])).astype(np.float32)
            for k, s in weights.items()}
    path = tmp_path / "data.npz"
    np.savez(path, x=x, y=y, **init)
    return str(path)


def _run_torch(script: str, *args) -> str:
    """Run the original script here (a torch subprocess would spend seconds importing)."""
    out = io.StringIO()
    argv = sys.argv
    sys.argv = ["script", *args]
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(script, "<torch script>", "exec"), {"__name__": "__main__"})
    finally:
        sys.argv = argv
    return out.getvalue()


def _run(script: str, *args) -> str:
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"script failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


def _result(stdout: str) -> tuple[float, float]:
    match = re.search(r"RESULT (\S+) (\S+)", stdout)
    assert match, stdout
    return float(match.group(1)), float(match.group(2))


@needs_torch
def test_training_script_ports_by_changing_imports(tmp_path):
    data = _data(tmp_path)
    torch_loss, torch_acc = _result(_run_torch(SCRIPT, data))
    nabla_loss, nabla_acc = _result(_run(_to_nabla(SCRIPT), data))
    assert torch_loss < 0.5  # it did train
    assert nabla_loss == pytest.approx(torch_loss, abs=1e-4)
    assert nabla_acc == pytest.approx(torch_acc, abs=1e-6)


@needs_torch
def test_checkpoint_lines_port_too(tmp_path):
    data = _data(tmp_path)
    out = _run(_to_nabla(SCRIPT + CHECKPOINT), data, str(tmp_path / "model.safetensors"))
    assert "RESTORED True" in out
    torch_out = _run_torch(SCRIPT + CHECKPOINT, data, str(tmp_path / "model.pt"))
    assert "RESTORED True" in torch_out


@needs_torch
def test_tutorial_conv_script_with_data_idioms_ports(tmp_path):
    """Conv, batch norm, max pool, worker processes, Nesterov SGD, StepLR, gradient clipping
    and the legacy ``.data`` idioms (``init.normal_(w.data)``, ``w.data.fill_``,
    ``p.data.copy_``, ``torch.max(outputs.data, 1)``, ``.data.numpy()``)."""
    torch_out = _run_torch(CONV_SCRIPT)
    nabla_out = _run(_to_nabla(CONV_SCRIPT))
    torch_loss, torch_acc = _result(torch_out)
    nabla_loss, nabla_acc = _result(nabla_out)
    initial = float(re.search(r"INITIAL (\S+)", torch_out).group(1))
    assert torch_loss < initial - 0.3  # it trained (on random labels: memorising them)
    assert float(re.search(r"INITIAL (\S+)", nabla_out).group(1)) == pytest.approx(initial,
                                                                                  abs=1e-5)
    assert nabla_loss == pytest.approx(torch_loss, abs=1e-3)
    assert nabla_acc == pytest.approx(torch_acc, abs=1e-6)
