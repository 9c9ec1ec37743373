"""The ``Server-Timing`` header's value as the benchmark reads it (the middleware itself is
tested over HTTP in ``test_api.py``)."""

from __future__ import annotations

import pytest

from credit_scoring.api.timing import server_time_ms


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("app;dur=12.5", 12.5),
        (b"app;dur=0.3", 0.3),
        ('db;dur=3, app;desc="scoring";dur=40', 40.0),
        ("db;dur=3", None),
        ("app", None),
    ],
)
def test_server_time_is_read_from_the_app_metric(header, expected):
    assert server_time_ms(header) == expected
