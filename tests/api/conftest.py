from __future__ import annotations

import pytest

from tests.api.helpers import ApiClient, api_client


@pytest.fixture
def spec_api(specialist) -> ApiClient:
    return api_client(specialist)


@pytest.fixture
def staff_api(staff) -> ApiClient:
    return api_client(staff)
