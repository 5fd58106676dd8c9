"""bfloat16 mixed-precision training on the CPU, watched through module hooks.

Shows: ``nabla.autocast("cpu", dtype=nabla.bfloat16)`` around the forward pass and loss
(linear layers run in bfloat16, the loss in float32; parameters and their gradients stay
float32, so no loss scaling is needed), a forward hook on each ReLU that records the
activations' dtype and the share of dead units, and a full backward hook on each Linear that
records the norm of the gradient flowing out of it -- then removing the hooks.

Run: python examples/08_mixed_precision_and_hooks.py
"""
from collections import defaultdict

import nabla as nb
from nabla import nn
from nabla.data import DataLoader
from nabla.data.datasets import Digits


def main(quick: bool = False) -> dict:
    nb.manual_seed(0)
    train_loader = DataLoader(Digits(train=True), batch_size=64, shuffle=True)
    test = Digits(train=False)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128),
                          nn.ReLU(), nn.Linear(128, 10))
    optimizer = nb.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()

    dead_share = defaultdict(list)       # layer name -> share of ReLU outputs that are 0
    act_dtypes = {}
    grad_norms = defaultdict(list)       # layer name -> |d loss / d input| per step

    def record_activations(name):
        def hook(module, args, output):
            act_dtypes[name] = output.dtype
            dead_share[name].append((output == 0).float().mean().item())
        return hook

    def record_grad_norm(name):
        def hook(module, grad_input, grad_output):
            grad_norms[name].append(grad_input[0].float().norm().item())
        return hook

    handles = []
    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            handles.append(module.register_forward_hook(record_activations(name)))
        elif isinstance(module, nn.Linear) and name != "1":     # "1" sees the data: no gradient
            handles.append(module.register_full_backward_hook(record_grad_norm(name)))

    epochs = 3 if quick else 10
    for epoch in range(1, epochs + 1):
        for x, y in train_loader:
            with nb.autocast("cpu", dtype=nb.bfloat16):
                logits = model(x)                       # bfloat16
                loss = loss_fn(logits, y)               # float32: losses autocast up
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch:2d}  loss {loss.item():.4f} ({loss.dtype}, logits {logits.dtype})")
    weight = model[1].weight          # after the bfloat16 forward: still float32, as is its grad
    param_dtype, grad_dtype = weight.dtype, weight.grad.dtype
    for h in handles:
        h.remove()
    steps = len(grad_norms["3"])
    model(test.data[:8]).sum().backward()               # hooks removed: nothing more recorded
    assert len(grad_norms["3"]) == steps

    with nb.no_grad(), nb.autocast("cpu", dtype=nb.bfloat16):
        accuracy = (model(test.data).argmax(1) == test.targets).float().mean().item()
    for name in dead_share:
        first, last = dead_share[name][0], dead_share[name][-1]
        print(f"ReLU {name}: activations {act_dtypes[name]}, dead units {first:.2f} -> {last:.2f}")
    for name, norms in grad_norms.items():
        print(f"Linear {name}: input-gradient norm {norms[0]:.4f} (first step) -> "
              f"{norms[-1]:.4f} (step {steps})")
    print(f"bfloat16 autocast: test accuracy {accuracy:.4f}; parameters {param_dtype}, "
          f"their gradients {grad_dtype}")
    return {"test_accuracy": accuracy, "activation_dtypes": act_dtypes,
            "grad_norms": dict(grad_norms), "dead_share": dict(dead_share),
            "logits_dtype": logits.dtype, "param_dtype": param_dtype, "grad_dtype": grad_dtype}

if __name__ == "__main__":
    main()
