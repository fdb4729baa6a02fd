"""The Examples sections of the estimators' and losses' docstrings run."""

import doctest
import importlib

import pytest

MODULES = ["sknnaqc.base", "sknnaqc.nnaqc", "sknnaqc.baselines", "sknnaqc.losses",
           "sknnaqc.robust", "sknnaqc.distributed", "sknnaqc.label_issues"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
