"""Five more PyTorch scripts, as people write them, that port to nabla by their imports.

Each script below is plain PyTorch and covers its own slice of the API (a GAN; a
Transformer classifier; a VAE with a policy-gradient head over ``torch.distributions``;
a residual CNN with a Dataset subclass, a shuffled DataLoader and a checkpoint; an LSTM
seq2seq with packed sequences and teacher forcing). Each runs once as written, in this
process, and once with its imports pointed at nabla, in a fresh interpreter (see
``tests/nn/test_port_torch_script.py``). Data come from NumPy with a fixed seed; initial
weights come from the torch run, through an npz file the script writes when it is absent
and reads when it is there, so both runs start from the same point.

Where both runs are deterministic the final numbers must agree to float32 round-off
over the steps taken. Where a script draws random numbers by design (the DataLoader's
shuffle order, ``torch.rand(1).item() < p`` teacher forcing), the two frameworks' streams
differ, so the test compares the deterministic part exactly (the loss before training,
or after the deterministic first epoch) and then a learned metric both must reach.
"""
import contextlib
import io
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.optest import needs_torch

GAN_SCRIPT = r'''
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.backends.cudnn.benchmark = True
torch.set_num_threads(1)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
data = np.load(sys.argv[1])
real = torch.from_numpy(data["real"]).float().to(device)
noise = torch.tensor(data["noise"], dtype=torch.float32, device=device)
LATENT = 4


def mlp(n_in, n_out, hidden=32):
    return nn.Sequential(nn.Linear(n_in, hidden), nn.LeakyReLU(0.2),
                         nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                         nn.Linear(hidden, n_out))


torch.manual_seed(0)
G = mlp(LATENT, 2).to(device)
D = mlp(2, 1).to(device)
G.load_state_dict({k[2:]: torch.tensor(data[k]) for k in data.files if k.startswith("G.")})
D.load_state_dict({k[2:]: torch.tensor(data[k]) for k in data.files if k.startswith("D.")})
use_amp = torch.cuda.is_available()
scaler = torch.cuda.amp.GradScaler(enabled=use_amp)
opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
criterion = nn.BCEWithLogitsLoss()
loader = DataLoader(TensorDataset(real, noise), batch_size=64, shuffle=False, drop_last=True)


@torch.no_grad()
def sample(z):
    G.eval()
    return G(z).cpu()


def mean_gap(samples):  # how far the samples' radius is from the data's
    return (samples.norm(dim=1).mean() - real.norm(dim=1).mean()).abs().item()


print(f"INITIAL {mean_gap(sample(noise[:256])):.10f}")
for epoch in range(6):
    G.train()
    D.train()
    for i, (xb, zb) in enumerate(loader):
        fake = G(zb)
        d_real = D(xb)
        d_fake = D(fake.detach())
        loss_d = criterion(d_real, torch.ones_like(d_real)) + \
            criterion(d_fake, torch.zeros_like(d_fake))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

        with torch.cuda.amp.autocast(enabled=use_amp):
            d_fake = D(fake)
            loss_g = criterion(d_fake, torch.full_like(d_fake, 1.0))
        opt_g.zero_grad(set_to_none=True)
        scaler.scale(loss_g).backward()
        scaler.step(opt_g)
        scaler.update()
    assert all(p.grad is None or p.grad.shape == p.shape for p in D.parameters())


samples = sample(noise[:256])
with torch.random.fork_rng():  # a peek that must not disturb the main stream
    extra = sample(torch.randn(16, LATENT))
assert extra.shape == (16, 2) and not extra.requires_grad
with torch.no_grad():
    d_score = torch.sigmoid(D(real)).mean().item()
    logits = torch.cat([D(real), D(samples)], dim=0)
    labels = torch.cat([torch.ones(real.size(0), 1), torch.zeros(samples.shape[0], 1)])
    d_loss = F.binary_cross_entropy_with_logits(logits, labels).item()
print("samples", samples.numpy().shape, samples.dtype)
print(f"RESULT {loss_g.item():.10f} {d_loss:.10f} {mean_gap(samples):.10f} {d_score:.10f}")
'''

TFM_SCRIPT = r'''
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
torch.set_num_threads(1)
data = np.load(sys.argv[1])
init_path = sys.argv[2]
tokens = torch.from_numpy(data["tokens"]).long()
lengths = torch.as_tensor(data["lengths"])
labels = torch.tensor(data["labels"], dtype=torch.long)
PAD, VOCAB, D_MODEL, MAX_LEN = 0, 12, 32, 16


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=64):
        super().__init__()
        pos = torch.arange(max_len).unsqueeze(1).float()
        div = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe.unsqueeze(0), persistent=False)

    def forward(self, x):
        return x + self.pe[:, : x.size(1)]


class Classifier(nn.Module):
    def __init__(self, n_classes=2):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D_MODEL, padding_idx=PAD)
        self.pos = PositionalEncoding(D_MODEL)
        layer = nn.TransformerEncoderLayer(D_MODEL, nhead=4, dim_feedforward=64, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.query = nn.Linear(D_MODEL, D_MODEL)
        self.head = nn.Linear(D_MODEL, n_classes)

    def forward(self, x, lengths):
        pad_mask = torch.arange(x.shape[1])[None, :] >= lengths[:, None]  # True = ignore
        h = self.encoder(self.pos(self.embed(x) * math.sqrt(D_MODEL)),
                         src_key_padding_mask=pad_mask)
        # attention pooling with one learned query per sequence
        valid = (~pad_mask).unsqueeze(-1).float()                     # (B, T, 1)
        summary = (h * valid).sum(dim=1, keepdim=True) / valid.sum(dim=1, keepdim=True)
        q = self.query(summary).unsqueeze(1)                          # (B, 1, 1, D)
        attn_mask = ~pad_mask[:, None, None, :]                       # (B, 1, 1, T)
        pooled = F.scaled_dot_product_attention(q, h.unsqueeze(1), h.unsqueeze(1),
                                                attn_mask=attn_mask)
        return self.head(pooled.view(x.size(0), -1))


model = Classifier()
if os.path.exists(init_path):
    model.load_state_dict({k: torch.from_numpy(v) for k, v in np.load(init_path).items()})
else:
    np.savez(init_path, **{k: v.numpy() for k, v in model.state_dict().items()})
EPOCHS, BATCH = 4, 32
loader = DataLoader(TensorDataset(tokens, lengths, labels), batch_size=BATCH)
decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                               {"params": no_decay, "weight_decay": 0.0}], lr=3e-3)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, epochs=EPOCHS,
                                                steps_per_epoch=len(loader))
norms = []
for epoch in range(EPOCHS):
    model.train()
    for xb, lb, yb in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb, lb), yb)
        loss.backward()
        norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), 1.0)))
        optimizer.step()
        scheduler.step()


@torch.inference_mode()
def evaluate():
    model.eval()
    logits = model(tokens, lengths)
    return F.cross_entropy(logits, labels).item(), (logits.argmax(-1) == labels).float().mean().item()


final_loss, acc = evaluate()
with torch.no_grad():  # padding must not change what the model says about a sequence
    short = model(tokens[:1, :int(lengths[0])], lengths[:1])
    torch.testing.assert_close(short, model(tokens[:1], lengths[:1]), rtol=1e-4, atol=1e-5)
print("lr", scheduler.get_last_lr()[0], "max norm", max(norms))
print(f"RESULT {final_loss:.10f} {acc:.10f}")
'''

VAE_SCRIPT = r'''
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical, Normal, kl_divergence

data = np.load(sys.argv[1])
init_path = sys.argv[2]
x_all = torch.from_numpy(data["x"])
eps_all = torch.from_numpy(data["eps"])


class VAE(nn.Module):
    def __init__(self, d_in=6, d_z=2, hidden=24):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(d_in, hidden), nn.SiLU())
        self.mu = nn.Linear(hidden, d_z)
        self.raw_scale = nn.Linear(hidden, d_z)
        self.dec = nn.Sequential(nn.Linear(d_z, hidden), nn.GELU(), nn.Linear(hidden, 2 * d_in))

    def encode(self, x):
        h = self.enc(x)
        return Normal(self.mu(h), F.softplus(self.raw_scale(h)) + 1e-4)

    def decode(self, z):
        loc, raw = self.dec(z).chunk(2, dim=-1)
        return Normal(loc, F.softplus(raw) + 1e-3)


class Policy(nn.Module):
    def __init__(self, n_obs=6, n_actions=3):
        super().__init__()
        self.body = nn.Linear(n_obs, 16)
        self.logits = nn.Linear(16, n_actions)

    def forward(self, obs):
        return Categorical(logits=self.logits(torch.tanh(self.body(obs))))


torch.manual_seed(0)
vae, policy = VAE(), Policy()
if os.path.exists(init_path):
    saved = np.load(init_path)
    vae.load_state_dict({k: torch.from_numpy(saved["vae." + k]) for k in vae.state_dict()})
    policy.load_state_dict({k: torch.from_numpy(saved["pi." + k]) for k in policy.state_dict()})
else:
    np.savez(init_path, **{"vae." + k: v.numpy() for k, v in vae.state_dict().items()},
             **{"pi." + k: v.detach().cpu().numpy() for k, v in policy.state_dict().items()})

opt = torch.optim.Adam(list(vae.parameters()) + list(policy.parameters()), lr=1e-2)
prior = Normal(torch.zeros(2), torch.ones(2))
W_reward = torch.tensor(data["w_reward"])
for step in range(60):
    i = step % 4
    x, eps = x_all[i * 32:(i + 1) * 32], eps_all[i * 32:(i + 1) * 32]
    q = vae.encode(x)
    z = q.loc + q.scale * eps                  # the reparameterisation, by hand ...
    z2 = q.rsample()                           # ... and by rsample (random: not compared)
    assert z2.shape == z.shape and z2.requires_grad
    recon = vae.decode(z).log_prob(x).sum(-1)
    kl = kl_divergence(q, prior).sum(-1)
    elbo = (recon - kl).mean()

    dist = policy(x)
    actions = torch.argmax(dist.probs + 0.0 * torch.randn_like(dist.probs), dim=-1)
    feats = torch.stack([x[:, 0], x[:, 1], x[:, 2]], dim=1)
    reward = torch.einsum("bi,ij,bj->b", feats, W_reward, F.one_hot(actions, 3).float())
    advantage = (reward - reward.mean()).detach()
    pg = -(dist.log_prob(actions) * advantage).mean() - 0.01 * dist.entropy().mean()

    loss = -elbo + pg
    opt.zero_grad()
    loss.backward()
    opt.step()

with torch.no_grad():
    q = vae.encode(x_all)
    recon = vae.decode(q.mean).log_prob(x_all).sum(-1).mean()
    kl = kl_divergence(q, prior).sum(-1).mean()
    ent = policy(x_all).entropy().mean()
    expected = (policy(x_all).probs * torch.cat([x_all[:, :3] @ W_reward], dim=1)).sum(1).mean()
    samp = prior.sample((5,))
    torch.testing.assert_close(samp.shape, torch.Size([5, 2]))
print(f"RESULT {-(recon - kl).item():.10f} {kl.item():.10f} {ent.item():.10f} {expected.item():.10f}")
'''

CNN_SCRIPT = r'''
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
torch.backends.cudnn.deterministic = True
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
data = np.load(sys.argv[1])
init_path, ckpt_path = sys.argv[2], sys.argv[3]


class Blobs(Dataset):
    def __init__(self, images, targets, augment=False):
        self.images = images
        self.targets = targets
        self.augment = augment

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, idx):
        img = torch.from_numpy(self.images[idx])
        if self.augment:
            img = img * 1.0  # a no-op "transform", as scripts often keep one around
        return img, int(self.targets[idx])


class ResBlock(nn.Module):
    def __init__(self, ch, p_drop=0.0):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        self.conv2 = nn.Conv2d(ch, ch, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch)
        self.drop = nn.Dropout2d(p_drop)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(self.drop(out)))
        return F.relu(out + x)


class SmallResNet(nn.Module):
    def __init__(self, n_classes=3, width=8):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.blocks = nn.ModuleList([ResBlock(width) for _ in range(2)])
        self.heads = nn.ModuleDict({"cls": nn.Linear(width, n_classes),
                                    "aux": nn.Linear(width, 1)})
        self.register_buffer("mean", torch.tensor([0.5]).view(1, -1, 1, 1))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def forward(self, x):
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = self.stem(x - self.mean)
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i == 0:
                x = F.max_pool2d(x, 2)
        x = F.adaptive_avg_pool2d(x, (1, 1)).flatten(1)
        if self.training:
            self.steps += 1
        return self.heads["cls"](x), self.heads["aux"](x).squeeze(-1)


model = SmallResNet().to(device)
if os.path.exists(init_path):
    model.load_state_dict({k: torch.from_numpy(v) for k, v in np.load(init_path).items()})
else:
    np.savez(init_path, **{k: v.cpu().numpy() for k, v in model.state_dict().items()})

train_set = Blobs(data["x"], data["y"], augment=True)
g = torch.Generator()
g.manual_seed(0)
loader = DataLoader(train_set, batch_size=16, shuffle=True, generator=g, drop_last=False)
eval_loader = DataLoader(Blobs(data["x"], data["y"]), batch_size=32, shuffle=False)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                            weight_decay=5e-4)
scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[2, 4], gamma=0.3)


@torch.no_grad()
def evaluate(net):
    total_loss, correct, n = 0.0, 0, 0
    for xb, yb in eval_loader:
        logits, _ = net(xb)
        total_loss += F.cross_entropy(logits, yb, reduction="sum").item()
        correct += (logits.argmax(1) == yb).sum().item()
        n += yb.numel()
    return total_loss / n, correct / n


model.eval()
print("INITIAL %.10f %.10f" % evaluate(model))

for epoch in range(5):
    model.train()
    seen = 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        logits, aux = model(xb)
        loss = F.cross_entropy(logits, yb) + 0.1 * F.mse_loss(aux, xb.mean(dim=[1, 2, 3]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += xb.size(0)
    scheduler.step()
    assert seen == len(train_set)

torch.save(model.state_dict(), ckpt_path)
restored = SmallResNet()
restored.load_state_dict(torch.load(ckpt_path, map_location="cpu"))
restored.eval()
model.eval()


loss_a, acc = evaluate(model)
loss_b, _ = evaluate(restored)
assert loss_a == loss_b, (loss_a, loss_b)
assert int(restored.steps) == int(model.steps) == 5 * len(loader)
print("lr", optimizer.param_groups[0]["lr"])
print(f"RESULT {loss_a:.10f} {acc:.10f}")
'''

RNN_SCRIPT = r'''
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

torch.manual_seed(0)
data = np.load(sys.argv[1])
init_path = sys.argv[2]
PAD, BOS, VOCAB, HID = 0, 1, 10, 32
seqs = [torch.tensor(data["tokens"][i, :n]) for i, n in enumerate(data["lengths"])]


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 16, padding_idx=PAD)
        self.encoder = nn.LSTM(16, HID, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * HID, HID)
        self.decoder = nn.LSTM(16, HID, num_layers=1, batch_first=True)
        self.out = nn.Linear(2 * HID, VOCAB)

    def encode(self, src, lengths):
        packed = pack_padded_sequence(self.embed(src), lengths, batch_first=True,
                                      enforce_sorted=False)
        memory, (h, c) = self.encoder(packed)
        memory, out_lengths = pad_packed_sequence(memory, batch_first=True,
                                                  total_length=src.size(1))
        assert torch.equal(out_lengths, lengths)
        h0 = torch.tanh(self.bridge(torch.cat([h[0], h[1]], dim=-1))).unsqueeze(0)
        return memory, (h0, torch.zeros_like(h0))

    def step(self, token, state, memory, mask):
        output, state = self.decoder(self.embed(token).unsqueeze(1), state)
        query = self.bridge(memory)                                   # (B, T, H)
        scores = torch.bmm(query, output.transpose(1, 2)).squeeze(2)  # (B, T)
        scores = scores.masked_fill(~mask, float("-inf"))
        context = (F.softmax(scores, dim=1).unsqueeze(-1) * memory).sum(1)
        logits = self.out(torch.cat([output.squeeze(1), context[:, :HID]], dim=-1))
        logits[:, PAD] = -1e9  # never emit padding
        return F.log_softmax(logits, dim=-1), state


def batchify(idx):
    src = pad_sequence([seqs[i] for i in idx], batch_first=True, padding_value=PAD)
    lengths = torch.tensor([len(seqs[i]) for i in idx])
    tgt = pad_sequence([seqs[i].flip(0) for i in idx], batch_first=True, padding_value=PAD)
    return src, lengths, tgt


def run(model, src, lengths, tgt, teacher_forcing):
    memory, state = model.encode(src, lengths)
    mask = torch.arange(src.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
    token = torch.full((src.size(0),), BOS, dtype=torch.long)
    outputs = []
    for t in range(tgt.size(1)):
        log_probs, state = model.step(token, state, memory, mask)
        outputs.append(log_probs)
        use_teacher = torch.rand(1).item() < teacher_forcing
        token = tgt[:, t] if use_teacher else log_probs.topk(1, dim=-1)[1].squeeze(1)
    return torch.stack(outputs, dim=1)                                # (B, T, V)


model = Seq2Seq()
if os.path.exists(init_path):
    model.load_state_dict({k: torch.from_numpy(v) for k, v in np.load(init_path).items()})
else:
    np.savez(init_path, **{k: v.detach().numpy() for k, v in model.state_dict().items()})
criterion = nn.NLLLoss(ignore_index=PAD)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
order = np.arange(len(seqs))


def evaluate():
    model.eval()
    with torch.no_grad():
        src, lengths, tgt = batchify(order)
        log_probs = run(model, src, lengths, tgt, teacher_forcing=1.0)
        loss = criterion(log_probs.reshape(-1, VOCAB), tgt.reshape(-1)).item()
        gold = log_probs.gather(2, tgt.unsqueeze(-1)).squeeze(-1)     # (B, T)
        best = log_probs.max(dim=-1).values
        valid = tgt != PAD
        acc = ((gold >= best) & valid).sum().item() / valid.sum().item()
    model.train()
    return loss, acc


print("INITIAL %.10f %.10f" % evaluate())
for epoch in range(12):
    teacher_forcing = 1.0 if epoch == 0 else 0.75  # warm up with the gold prefix
    for start in range(0, len(order), 16):
        src, lengths, tgt = batchify(order[start:start + 16])
        log_probs = run(model, src, lengths, tgt, teacher_forcing)
        loss = criterion(log_probs.view(-1, VOCAB), tgt.view(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
    if epoch == 0:
        print("EPOCH0 %.10f %.10f" % evaluate())
print("RESULT %.10f %.10f" % evaluate())
'''

NABLA_IMPORTS = [
    (r"^import torch$", "import nabla as torch"),
    (r"^import torch\.nn as nn$", "import nabla.nn as nn"),
    (r"^import torch\.nn\.functional as F$", "import nabla.nn.functional as F"),
    (r"^from torch\.utils\.data import", "from nabla.utils.data import"),
    (r"^from torch\.distributions import", "from nabla.distributions import"),
    (r"^from torch\.nn\.utils\.rnn import", "from nabla.nn.utils.rnn import"),
]


def _to_nabla(script: str) -> str:
    for old, new in NABLA_IMPORTS:
        script = re.sub(old, new, script, flags=re.M)
    imports = [line for line in script.splitlines() if line.startswith(("import", "from"))]
    assert not any(re.match(r"(import|from) torch\b", line) for line in imports), imports
    return script


def _run_torch(script: str, *args) -> str:
    """Run the original script here (a torch subprocess would spend seconds importing)."""
    import torch

    out, argv, threads = io.StringIO(), sys.argv, torch.get_num_threads()
    sys.argv = ["script", *args]
    torch.set_num_threads(1)  # small ops: on a busy 2-core machine, more threads only wait
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(script, "<torch script>", "exec"), {"__name__": "__main__"})
    finally:
        sys.argv = argv
        torch.set_num_threads(threads)
    return out.getvalue()


def _run_nabla(script: str, *args) -> str:
    proc = subprocess.run([sys.executable, "-c", _to_nabla(script), *args],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"nabla script failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


def _numbers(stdout: str, tag: str) -> list[float]:
    match = re.search(rf"^{tag} (.+)$", stdout, flags=re.M)
    assert match, stdout
    return [float(v) for v in match.group(1).split()]


def _both(script: str, *args) -> tuple[str, str]:
    """The torch run first: it writes the initial weights the nabla run then reads."""
    return _run_torch(script, *args), _run_nabla(script, *args)


def _uniform(rng, shape, fan_in):
    return (rng.uniform(-1, 1, shape) / np.sqrt(fan_in)).astype(np.float32)


@needs_torch
def test_gan_with_two_optimizers_ports(tmp_path):
    """Two Adams, ``fake.detach()``, BCEWithLogitsLoss against ``ones_like``/``zeros_like``,
    ``zero_grad(set_to_none=True)``, the (disabled) legacy ``torch.cuda.amp`` scaler and
    autocast, ``torch.backends.cudnn.benchmark``, a ``@torch.no_grad()`` sampler in eval
    mode and ``torch.random.fork_rng``. Deterministic: final numbers must agree."""
    rng = np.random.default_rng(1)
    angle = rng.uniform(0, 2 * np.pi, 512)
    real = np.stack([np.cos(angle), np.sin(angle)], 1) * 2 + rng.normal(0, 0.1, (512, 2))
    weights = {}
    for net, sizes in (("G", (4, 32, 32, 2)), ("D", (2, 32, 32, 1))):
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):  # Sequential indices 0, 2, 4
            weights[f"{net}.{2 * i}.weight"] = _uniform(rng, (b, a), a)
            weights[f"{net}.{2 * i}.bias"] = _uniform(rng, (b,), a)
    path = tmp_path / "gan.npz"
    np.savez(path, real=real.astype(np.float32),
             noise=rng.standard_normal((512, 4)).astype(np.float32), **weights)
    torch_out, nabla_out = _both(GAN_SCRIPT, str(path))
    expected, got = _numbers(torch_out, "RESULT"), _numbers(nabla_out, "RESULT")
    initial = _numbers(torch_out, "INITIAL")[0]
    assert _numbers(nabla_out, "INITIAL")[0] == pytest.approx(initial, abs=1e-6)
    assert expected[2] < initial - 0.5  # the samples' radius moved towards the ring's
    # 48 steps of an adversarial game: round-off grows, but stays far below the signal
    assert got == pytest.approx(expected, abs=1e-4)


@needs_torch
def test_transformer_classifier_ports(tmp_path):
    """Embedding with padding_idx, a sinusoidal buffer, ``nn.TransformerEncoder`` over
    ``TransformerEncoderLayer(batch_first=True, norm_first=True)`` with a key padding
    mask from lengths, ``F.scaled_dot_product_attention`` with a boolean mask, AdamW
    with parameter groups, OneCycleLR, ``clip_grad_norm_``, ``@torch.inference_mode()``
    and ``torch.testing.assert_close``. Deterministic (dropout 0)."""
    rng = np.random.default_rng(2)
    lengths = rng.integers(4, 17, 128)
    tokens = rng.integers(1, 12, (128, 16))
    tokens[np.arange(16)[None, :] >= lengths[:, None]] = 0
    labels = ((tokens == 3).sum(1) > (tokens == 7).sum(1)).astype(np.int64)
    path = tmp_path / "tfm.npz"
    np.savez(path, tokens=tokens, lengths=lengths, labels=labels)
    args = str(path), str(tmp_path / "tfm_init.npz")
    torch_out, nabla_out = _both(TFM_SCRIPT, *args)
    (loss, acc), (n_loss, n_acc) = _numbers(torch_out, "RESULT"), _numbers(nabla_out, "RESULT")
    assert loss < 0.45 and acc > 0.8  # it learned the counting rule, mostly
    assert n_loss == pytest.approx(loss, abs=1e-4)
    assert n_acc == pytest.approx(acc, abs=1e-6)


@needs_torch
def test_vae_and_policy_gradient_with_distributions_ports(tmp_path):
    """``Normal``, ``Categorical(logits=)``, ``rsample``, ``log_prob``, ``kl_divergence``,
    ``entropy``, ``.probs``, ``sample((n,))``, ``F.softplus``, ``chunk``, ``torch.stack``,
    ``torch.cat``, a three-operand ``einsum``, ``F.one_hot`` and ``randn_like``. The noise
    of the reparameterisation comes from the data file, so it is deterministic."""
    rng = np.random.default_rng(3)
    z = rng.standard_normal((128, 2))
    x = np.tanh(z @ rng.standard_normal((2, 6))) + 0.1 * rng.standard_normal((128, 6))
    path = tmp_path / "vae.npz"
    np.savez(path, x=x.astype(np.float32),
             eps=rng.standard_normal((128, 2)).astype(np.float32),
             w_reward=rng.standard_normal((3, 3)).astype(np.float32))
    args = str(path), str(tmp_path / "vae_init.npz")
    torch_out, nabla_out = _both(VAE_SCRIPT, *args)
    expected, got = _numbers(torch_out, "RESULT"), _numbers(nabla_out, "RESULT")
    assert expected[0] < 3.0  # the negative ELBO fell from about 10 at the start
    assert got == pytest.approx(expected, abs=1e-4)


def _cnn_data(tmp_path) -> str:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 96)
    x = rng.uniform(0, 1, (96, 1, 8, 8)) * 0.5
    x[y == 0, 0, :4, :] += 0.6  # three kinds of bright patch
    x[y == 1, 0, :, :4] += 0.6
    x[y == 2, 0, 2:6, 2:6] += 0.6
    path = tmp_path / "cnn.npz"
    np.savez(path, x=x.astype(np.float32), y=y)
    return str(path)


@needs_torch
def test_residual_cnn_with_dataset_and_checkpoint_ports(tmp_path):
    """A Dataset subclass returning (tensor, int), ``DataLoader(shuffle=True,
    generator=g)``, residual blocks in ``nn.ModuleList``, heads in ``nn.ModuleDict``,
    ``register_buffer`` (a float and a long counter), BatchNorm followed by
    ``nn.ReLU(inplace=True)``, Dropout2d, ``F.interpolate``, ``F.adaptive_avg_pool2d``,
    Nesterov SGD with weight decay, MultiStepLR, and ``torch.save(state_dict)`` /
    ``load_state_dict(torch.load(path, map_location=...))``.

    The shuffle order is each framework's own random stream, so after training only
    what was learned is compared; the untrained model's evaluation must agree exactly."""
    data = _cnn_data(tmp_path)
    torch_out = _run_torch(CNN_SCRIPT, data, str(tmp_path / "init.npz"),
                           str(tmp_path / "model.pt"))
    nabla_out = _run_nabla(CNN_SCRIPT, data, str(tmp_path / "init.npz"),
                           str(tmp_path / "model.safetensors"))
    initial = _numbers(torch_out, "INITIAL")
    assert _numbers(nabla_out, "INITIAL") == pytest.approx(initial, abs=1e-5)
    assert _numbers(nabla_out, "lr") == pytest.approx([0.05 * 0.3 * 0.3])
    for out in (torch_out, nabla_out):
        loss, acc = _numbers(out, "RESULT")
        assert acc >= 0.95 and loss < initial[0] - 0.5, out


@needs_torch
def test_lstm_seq2seq_with_packed_sequences_ports(tmp_path):
    """A bidirectional ``nn.LSTM(batch_first=True)`` over ``pack_padded_sequence``
    (unsorted) and ``pad_packed_sequence(total_length=)``, ``pad_sequence``, a decoder
    with dot attention (``bmm``, ``masked_fill`` with -inf), ``logits[:, PAD] = -1e9`` on
    a tensor that requires grad, ``topk``, ``gather``, ``log_softmax`` with
    ``NLLLoss(ignore_index=)`` and teacher forcing drawn as ``torch.rand(1).item() < p``.

    The first epoch forces every step (deterministic: compared exactly); later epochs
    draw from each framework's own stream, so only the learned accuracy is compared."""
    rng = np.random.default_rng(5)
    lengths = rng.integers(3, 8, 64)
    tokens = rng.integers(2, 10, (64, 7))
    tokens[np.arange(7)[None] >= lengths[:, None]] = 0
    path = tmp_path / "rnn.npz"
    np.savez(path, tokens=tokens, lengths=lengths)
    args = str(path), str(tmp_path / "rnn_init.npz")
    torch_out, nabla_out = _both(RNN_SCRIPT, *args)
    for tag in ("INITIAL", "EPOCH0"):
        assert _numbers(nabla_out, tag) == pytest.approx(_numbers(torch_out, tag), abs=2e-5)
    for out in (torch_out, nabla_out):
        loss, acc = _numbers(out, "RESULT")
        assert acc > 0.85 and loss < 0.6, out  # reversing the sequence was learned
