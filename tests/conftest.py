import numpy as np
import pytest
import torch
from torch import nn
from sklearn.datasets import load_digits


class TinyMLP(nn.Module):
    """Small MLP used across the tests (module level so it pickles)."""

    def __init__(self, n_features, n_classes, hidden=32):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_classes)
        )

    def forward(self, X):
        return self.layers(X)


@pytest.fixture(autouse=True)
def _few_threads():
    # Keep tests predictable on small CI machines.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y
