"""Optimizers (``nabla.optim.SGD``, ``Adam``, ...) and ``nabla.optim.lr_scheduler``."""
from . import lr_scheduler, swa_utils
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adadelta import Adadelta
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
           "NAdam", "RAdam", "Adamax", "Adadelta", "ASGD", "LBFGS", "Rprop",
           "Adafactor", "lr_scheduler", "swa_utils"]
