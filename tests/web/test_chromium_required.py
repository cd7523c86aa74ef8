"""Without Chromium the browser tests fail in CI (never a skip that reads as a pass) and
skip, saying how to install it, on a developer's machine."""

from __future__ import annotations

import pytest

from tests.web.conftest import require_chromium


def test_missing_chromium_fails_in_ci() -> None:
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        require_chromium(None, ci=True)


def test_missing_chromium_skips_elsewhere() -> None:
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        require_chromium(None, ci=False)


def test_present_chromium_is_used() -> None:
    assert require_chromium("/usr/bin/chromium", ci=True) == "/usr/bin/chromium"
