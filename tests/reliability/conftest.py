"""Fixtures for the reliability suite.

Sizes: the default run is small enough for ``make test``. Bigger runs multiply the
number of kill points, faults and inputs: ``pytest tests/reliability
--reliability-scale=10`` or ``KEEPSAKE_RELIABILITY_SCALE=10 make test``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.reliability.harness import VaultTemplate, make_template


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--reliability-scale",
        type=int,
        default=None,
        help="multiply the reliability suite's kill points, faults and inputs (default 1; "
        "env KEEPSAKE_RELIABILITY_SCALE)",
    )


def pytest_configure(config: pytest.Config) -> None:
    value = config.getoption("--reliability-scale", default=None)
    if value:
        os.environ["KEEPSAKE_RELIABILITY_SCALE"] = str(value)


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VaultTemplate]:
    """An empty vault with small chunks and packs, made once per worker."""
    base = tmp_path_factory.mktemp("template")
    tpl = make_template(base / "vault", base / "cache")
    yield tpl
    tpl.vault.close()
