"""Fixtures of the recording e2e tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conformance.media_helpers import file_server


@pytest.fixture
async def bed_files() -> AsyncIterator[str]:
    """A file server with no files: every prompt URL on it answers 404."""
    async with file_server({}) as base:
        yield base
