"""Shared fixtures. Tests never seed numpy globally: each draws from its own Generator."""
import os

import numpy as np
import pytest


@pytest.fixture
def rng(request):
    # A fixed seed per test id: failures reproduce, and different tests see different data.
    seed = abs(hash(request.node.nodeid)) % (2 ** 32) if os.environ.get("RNNKIT_RANDOM_SEEDS") else 1234
    return np.random.default_rng(seed)


@pytest.fixture(scope="session")
def torch():
    """PyTorch, the independent reference. Optional for users; required in CI.

    Without torch the reference tests skip with a reason, unless the environment variable
    RNNKIT_REQUIRE_TORCH=1 is set (as .ci/run does), which turns the skip into a failure.
    """
    try:
        import torch as _torch
    except ImportError:
        if os.environ.get("RNNKIT_REQUIRE_TORCH") == "1":
            pytest.fail("RNNKIT_REQUIRE_TORCH=1 but torch is not importable: "
                        "install it with  .venv/bin/pip install torch==2.13.0")
        pytest.skip("torch is not installed (optional reference; .ci/run installs torch==2.13.0)")
    _torch.set_num_threads(2)
    return _torch
