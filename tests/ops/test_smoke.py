import numpy as np
import torch
from tests.optest import check_op, rand

def test_mul_broadcast():
    check_op(lambda a, b: a * b, [rand(3, 4), rand(4, seed=1)], ref=np.multiply, torch_fn=torch.mul)

def test_exp():
    check_op(lambda a: a.exp(), [rand(3, 4)], ref=np.exp, torch_fn=torch.exp)

def test_matmul():
    check_op(lambda a, b: a @ b, [rand(2, 3, 4), rand(4, 5, seed=1)], ref=np.matmul, torch_fn=torch.matmul)
