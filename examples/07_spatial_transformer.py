"""Undo a known rotation and shift of digit images by gradient descent through the sampling grid.

Shows: ``F.affine_grid`` + ``F.grid_sample`` (the two halves of a spatial transformer) and
gradients that flow through the *grid* back to the affine parameters. The digits are warped
by a known affine map; a learnable 2x3 matrix, started at the identity, is trained to warp
them back (mean-squared reconstruction error). The recovered matrix is compared with the
exact inverse of the known map.

Run: python examples/07_spatial_transformer.py
"""
import math

import nabla as nb
import nabla.nn.functional as F
from nabla import nn
from nabla.data.datasets import Digits


def rotation_shift(degrees: float, dx: float, dy: float):
    """The 2x3 affine matrix (normalised coordinates in [-1, 1]) of a rotation then a shift."""
    a = math.radians(degrees)
    return nb.tensor([[math.cos(a), -math.sin(a), dx],
                      [math.sin(a), math.cos(a), dy]])


def warp(images, theta):
    """Sample ``images`` (B, C, H, W) at the points ``theta`` (2, 3) maps the output grid to."""
    grid = F.affine_grid(theta.expand(len(images), 2, 3), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def inverse(theta):
    """The inverse affine map, as a 2x3 matrix."""
    full = nb.cat([theta, nb.tensor([[0.0, 0.0, 1.0]])])    # (3, 3) homogeneous
    return nb.linalg.inv(full)[:2]


class AffineAligner(nn.Module):
    def __init__(self):
        super().__init__()
        self.theta = nn.Parameter(nb.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))

    def forward(self, images):
        return warp(images, self.theta)


def main(quick: bool = False) -> dict:
    nb.manual_seed(0)
    images = Digits(train=True, size=16).data[:64 if quick else 256]    # (N, 1, 16, 16)
    # shrink the digits a little first so the rotation does not push strokes out of view
    images = warp(images, nb.tensor([[1.25, 0.0, 0.0], [0.0, 1.25, 0.0]]))
    true_theta = rotation_shift(20.0, 0.10, -0.08)
    with nb.no_grad():
        distorted = warp(images, true_theta)

    aligner = AffineAligner()
    optimizer = nb.optim.Adam(aligner.parameters(), lr=0.01)
    steps = 100 if quick else 200
    for step in range(1, steps + 1):
        loss = F.mse_loss(aligner(distorted), images)
        optimizer.zero_grad()
        loss.backward()                 # d loss / d theta: through grid_sample and affine_grid
        optimizer.step()
        if step % 50 == 0:
            print(f"step {step:4d}  reconstruction MSE {loss.item():.5f}")

    target = inverse(true_theta)
    learned = aligner.theta.detach()
    error = (learned - target).abs().max().item()
    angle = math.degrees(math.atan2(learned[1, 0].item(), learned[0, 0].item()))
    print("learned theta:\n", learned.numpy().round(3))
    print("exact inverse of the distortion:\n", target.numpy().round(3))
    print(f"recovered rotation {angle:.2f} deg (true -20.00), max |learned - exact| = {error:.4f}")
    return {"max_param_error": error, "angle_degrees": angle, "final_mse": loss.item()}


if __name__ == "__main__":
    main()
