"""Shared fixtures of the demo-data tests: one tiny build, reused read-only."""

from __future__ import annotations

import pytest

from rf_models.demo import DemoSummary, build_demo_dataset
from tests.support.demo_data import TINY


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    return build_demo_dataset(tmp_path_factory.mktemp("demo") / "data", **TINY)
