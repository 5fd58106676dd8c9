import numpy as np
import pytest

import nabla as nb


@pytest.fixture(autouse=True)
def _seed():
    nb.manual_seed(0)
    np.random.seed(0)
    yield


from tests.kernel_harness import emulated  # noqa: E402,F401  (a fixture for the kernel tests)
