"""A small variational autoencoder on the bundled 8x8 digits.

Shows: ``nabla.distributions``: the encoder outputs a ``Normal`` whose ``rsample()`` is
reparameterised (the sample is ``mu + sigma * eps``, so gradients reach ``mu`` and
``sigma``), and ``kl_divergence`` against the standard-normal prior in closed form. The
decoder gives Bernoulli logits per pixel; the ELBO per image (in nats) is reported on the
test split before and after training.

Run: python examples/06_vae_reparameterisation.py
"""
import nabla as nb
import nabla.nn.functional as F
from nabla import nn
from nabla.data import DataLoader, TensorDataset
from nabla.data.datasets import Digits
from nabla.distributions import Normal, kl_divergence


class VAE(nn.Module):
    def __init__(self, pixels: int = 64, hidden: int = 128, latent: int = 8):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(pixels, hidden), nn.ReLU(),
                                     nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(),
                                     nn.Linear(hidden, pixels))

    def posterior(self, x) -> Normal:
        mu, log_sigma = self.encoder(x).chunk(2, dim=-1)      # (B, latent) each
        return Normal(mu, log_sigma.exp())

    def forward(self, x):
        """The ELBO of each image: E_q[log p(x | z)] - KL(q(z | x) || p(z)), shape (B,)."""
        q = self.posterior(x)
        z = q.rsample()                                        # (B, latent), differentiable
        logits = self.decoder(z)                               # (B, pixels)
        log_likelihood = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
        prior = Normal(nb.zeros_like(z), nb.ones_like(z))
        return log_likelihood - kl_divergence(q, prior).sum(-1)


def test_elbo(model, x) -> float:
    with nb.no_grad():
        return model(x).mean().item()


def main(quick: bool = False) -> dict:
    nb.manual_seed(0)
    train_x = Digits(train=True).data.reshape(-1, 64)      # pixels in [0, 1]
    test_x = Digits(train=False).data.reshape(-1, 64)
    loader = DataLoader(TensorDataset(train_x), batch_size=64, shuffle=True)

    model = VAE()
    optimizer = nb.optim.Adam(model.parameters(), lr=2e-3)
    before = test_elbo(model, test_x)
    print(f"test ELBO before training {before:8.2f} nats/image")
    epochs = 8 if quick else 40
    for epoch in range(1, epochs + 1):
        for (x,) in loader:
            loss = -model(x).mean()                            # maximise the ELBO
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if epoch % 10 == 0:
            print(f"epoch {epoch:3d}  train -ELBO {loss.item():7.2f}  "
                  f"test ELBO {test_elbo(model, test_x):7.2f}")
    after = test_elbo(model, test_x)

    # decode the posterior means of two test digits and of the midpoint between them
    with nb.no_grad():
        z = model.posterior(test_x[:2]).mean
        middle = nb.sigmoid(model.decoder(z.mean(0, keepdim=True))).reshape(8, 8)
    print("decoded midpoint of two test digits' codes:")
    for row in middle.tolist():
        print("  " + "".join(" .:-=+*#%@"[min(int(v * 10), 9)] for v in row))
    print(f"test ELBO {before:.2f} -> {after:.2f} nats/image (gain {after - before:.2f})")
    return {"elbo_before": before, "elbo_after": after}


if __name__ == "__main__":
    main()
