"""Every script in examples/ runs (in its quick mode) and learns what it says it learns."""
import importlib.util
import math
import pathlib

import pytest
from threadpoolctl import threadpool_limits

import nabla as nb

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """The examples multiply matrices of at most a few hundred columns, where one BLAS thread
    is as fast as two; while other processes share the cores (parallel test runs), OpenBLAS's
    spinning threads made this file 7x slower (55 s instead of 8 s). Restored afterwards."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def run_example(stem: str) -> dict:
    """Import ``examples/<stem>.py`` by path (its name starts with a digit); main(quick=True)."""
    path = EXAMPLES / f"{stem}.py"
    spec = importlib.util.spec_from_file_location(f"nabla_example_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.__doc__ and f"python examples/{stem}.py" in module.__doc__
    return module.main(quick=True)


def test_every_example_is_tested():
    tested = {name[len("test_"):] for name in globals() if name.startswith("test_0")}
    scripts = {p.stem for p in EXAMPLES.glob("[0-9][0-9]_*.py")}
    assert scripts == tested and len(scripts) >= 8


def test_01_tensors_and_autograd():
    result = run_example("01_tensors_and_autograd")
    assert len(result["errors"]) == 8
    assert result["max_error"] < 1e-5


def test_02_train_loop_digits():
    result = run_example("02_train_loop_digits")
    assert result["test_accuracy"] > 0.9
    assert result["restored_accuracy"] == result["test_accuracy"]


def test_03_fit_cnn():
    result = run_example("03_fit_cnn")
    assert result["test_accuracy"] > 0.9
    # the resumed run restored the interrupted run's history (a run started afresh would have
    # other losses: its weights are drawn later from the generator) and went on from there
    done = len(result["interrupted_run_loss"])
    assert result["loss"][:done] == result["interrupted_run_loss"]
    epochs = result["epochs"]
    assert epochs == list(range(1, len(epochs) + 1)) and len(epochs) > done


def test_04_per_sample_gradients():
    result = run_example("04_per_sample_gradients")
    assert result["max_abs_diff"] < 1e-5
    assert result["test_accuracy"] > 0.85


def test_05_char_lm_sampling():
    result = run_example("05_char_lm_sampling")
    assert result["bits_per_char"] < result["unigram_bits"] - 0.3
    assert result["sample"].startswith("def ") and len(result["sample"]) > 40


def test_06_vae_reparameterisation():
    result = run_example("06_vae_reparameterisation")
    assert math.isfinite(result["elbo_after"])
    assert result["elbo_after"] > result["elbo_before"] + 10.0     # nats per image


def test_07_spatial_transformer():
    result = run_example("07_spatial_transformer")
    assert result["max_param_error"] < 0.03
    assert result["angle_degrees"] == pytest.approx(-20.0, abs=1.0)


def test_08_mixed_precision_and_hooks():
    result = run_example("08_mixed_precision_and_hooks")
    assert result["test_accuracy"] > 0.85
    assert result["logits_dtype"] == nb.bfloat16
    assert set(result["activation_dtypes"].values()) == {nb.bfloat16}
    assert result["param_dtype"] == nb.float32 and result["grad_dtype"] == nb.float32
    norms = result["grad_norms"]
    assert set(norms) == {"3", "5"} and all(len(v) > 10 for v in norms.values())
    assert all(math.isfinite(v) and v > 0 for v in norms["3"] + norms["5"])
