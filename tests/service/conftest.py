"""Fixtures for the service tests (the helpers live in helpers.py)."""

import pytest

from tests.service.helpers import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("svc")).start()
    yield srv
    srv.stop()
