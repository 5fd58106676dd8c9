"""Training: the fit loop, evaluation, metrics, callbacks, checkpoints and logs."""
from .callbacks import Callback, CSVLogger, CurvePlotter, EarlyStopping, ModelCheckpoint
from .checkpoint import get_rng_states, load_checkpoint, save_checkpoint, set_rng_states
from .logging import plot_curves, write_csv
from .loop import History, TrainState, evaluate, fit
from .metrics import (Accuracy, BitsPerChar, Loss, Metric, Perplexity, TokenAccuracy, TopKAccuracy,
                      accuracy, get_metric, top_k_accuracy)

__all__ = ["fit", "evaluate", "History", "TrainState", "Callback", "EarlyStopping",
           "ModelCheckpoint", "CSVLogger", "CurvePlotter", "save_checkpoint", "load_checkpoint",
           "get_rng_states", "set_rng_states", "write_csv", "plot_curves", "Metric", "Loss",
           "Accuracy", "TopKAccuracy", "TokenAccuracy", "BitsPerChar", "Perplexity", "accuracy",
           "top_k_accuracy", "get_metric"]
