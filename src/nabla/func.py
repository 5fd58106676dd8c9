"""``nabla.func``: composable function transforms with the names of ``torch.func`` / JAX.

``grad``, ``grad_and_value``, ``value_and_grad``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``,
``hessian`` and ``hvp`` (defined in ``nabla.autograd.functional``), and ``functional_call``
(``nabla.nn.utils.stateless``) to make a module a function of its parameters, and ``vmap``
(``nabla.func_vmap``).
"""
from .autograd.functional import func_hessian as hessian
from .autograd.functional import func_hvp as hvp
from .autograd.functional import func_jvp as jvp
from .autograd.functional import func_vjp as vjp
from .autograd.functional import grad, grad_and_value, jacfwd, jacrev, value_and_grad
from .nn.utils.stateless import functional_call
from .func_vmap import vmap

__all__ = ["grad", "grad_and_value", "value_and_grad", "vjp", "jvp", "jacrev", "jacfwd",
           "hessian", "hvp", "functional_call", "vmap"]
