"""Per-sample gradients with ``functional_call`` + ``grad`` + ``vmap``, as in ``torch.func``.

Shows: turning a module into a function of its parameters (``functional_call``),
``grad`` of a one-sample loss, and ``vmap`` over the batch -- checked against a loop of
ordinary ``backward`` passes, one sample at a time. Then the per-sample gradients are put
to use: a DP-SGD-style training run on the Moons data (each sample's gradient clipped to
norm 1 before averaging, plus Gaussian noise), reporting test accuracy.

Run: python examples/04_per_sample_gradients.py
"""
import nabla as nb
import nabla.nn.functional as F
from nabla import nn
from nabla.data.datasets import Moons
from nabla.func import functional_call, grad, vmap


def per_sample_grads(model, x, y) -> dict:
    """name -> (B, *param.shape): the gradient of each sample's loss."""
    params = {name: p.detach() for name, p in model.named_parameters()}

    def sample_loss(params, xi, yi):
        logits = functional_call(model, params, (xi.unsqueeze(0),))    # (1, 2)
        return F.cross_entropy(logits, yi.unsqueeze(0))

    return vmap(grad(sample_loss), in_dims=(None, 0, 0))(params, x, y)


def loop_grads(model, x, y) -> dict:
    """The same gradients, one backward pass per sample."""
    rows = {name: [] for name, _ in model.named_parameters()}
    for i in range(len(y)):
        model.zero_grad()
        F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        for name, p in model.named_parameters():
            rows[name].append(p.grad.clone())
    return {name: nb.stack(g) for name, g in rows.items()}


def dp_sgd_step(model, x, y, lr: float, clip: float, noise: float) -> None:
    grads = per_sample_grads(model, x, y)
    flat = nb.cat([g.reshape(len(y), -1) for g in grads.values()], dim=1)     # (B, P)
    scale = (clip / (flat.norm(dim=1) + 1e-6)).clamp(max=1.0)                 # (B,)
    with nb.no_grad():
        for name, p in model.named_parameters():
            g = grads[name]
            clipped = (g * scale.reshape(-1, *[1] * (g.ndim - 1))).sum(0)
            noisy = (clipped + noise * clip * nb.randn_like(clipped)) / len(y)
            p -= lr * noisy


def main(quick: bool = False) -> dict:
    nb.manual_seed(0)
    train, test = Moons(train=True), Moons(train=False)
    model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                          nn.Linear(32, 2))

    x, y = train.data[:16], train.targets[:16]
    vmapped, looped = per_sample_grads(model, x, y), loop_grads(model, x, y)
    max_diff = max((vmapped[k] - looped[k]).abs().max().item() for k in looped)
    print(f"per-sample gradients of {len(y)} samples, {len(looped)} parameters: "
          f"max |vmap - loop| = {max_diff:.2e}")

    steps, batch = (60, 32) if quick else (200, 32)
    gen = nb.Generator().manual_seed(1)
    for step in range(steps):
        idx = nb.randint(0, len(train), (batch,), generator=gen)
        dp_sgd_step(model, train.data[idx], train.targets[idx], lr=1.0, clip=1.0, noise=0.5)
    with nb.no_grad():
        acc = (model(test.data).argmax(1) == test.targets).float().mean().item()
    print(f"DP-SGD ({steps} steps of {batch}, clip 1.0, noise 0.5): test accuracy {acc:.4f}")
    return {"max_abs_diff": max_diff, "test_accuracy": acc}


if __name__ == "__main__":
    main()
