"""The ``nabla`` command line."""
from __future__ import annotations

import argparse
import sys


def demo(args) -> int:
    """Fit a 2-8-1 MLP to XOR with plain SGD and print the loss curve."""
    import nabla as nb

    nb.manual_seed(args.seed)
    x = nb.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = nb.tensor([[0.0], [1.0], [1.0], [0.0]])
    w1 = (nb.randn(2, 8) * 1.0).requires_grad_()
    b1 = nb.zeros(8, requires_grad=True)
    w2 = (nb.randn(8, 1) * 0.5).requires_grad_()
    b2 = nb.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    print("nabla demo: a 2-8-1 tanh MLP learns XOR (what one perceptron cannot)")
    for step in range(args.steps + 1):
        logits = nb.tanh(x @ w1 + b1) @ w2 + b2
        p = nb.sigmoid(logits)
        loss = -(y * nb.log(p + 1e-7) + (1 - y) * nb.log(1 - p + 1e-7)).mean()
        loss.backward()
        with nb.no_grad():
            for w in params:
                w -= args.lr * w.grad
                w.grad = None
        if step % max(1, args.steps // 10) == 0:
            bar = "#" * int(40 * min(loss.item(), 1.0))
            print(f"step {step:5d}  loss {loss.item():.4f}  {bar}")
    pred = (p.detach() > 0.5).float().reshape(-1).tolist()
    print("predictions for (0,0) (0,1) (1,0) (1,1):", [int(v) for v in pred])
    ok = pred == [0.0, 1.0, 1.0, 0.0]
    print("XOR learned" if ok else "XOR not learned yet: try more --steps")
    return 0 if ok else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="nabla", description="nabla deep learning framework")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="fit a tiny MLP on XOR and print the loss curve")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=demo)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
