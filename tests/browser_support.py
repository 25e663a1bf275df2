"""What every browser test shares: the system's Chromium driven by Playwright, kept offline.

Playwright cannot download its own browser here (nor on many CI machines), so it drives the
Chromium of the system (Debian: ``apt-get install chromium``), or the one named by
``LECTURE21_CHROMIUM``. Without either, or without the ``playwright`` package, a browser test
is skipped with the reason, so that ``make test`` still runs on a laptop without a browser.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = (
    "--no-sandbox",  # CI containers run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # a container's /dev/shm is often too small for the renderer
    "--disable-background-networking",  # no update checks or field trials: the page alone talks
)


def chromium_path() -> str | None:
    """The Chromium executable: ``LECTURE21_CHROMIUM`` if set, else the first one on PATH."""
    named = os.environ.get("LECTURE21_CHROMIUM")
    if named:
        if not shutil.which(named):
            raise ValueError(f"LECTURE21_CHROMIUM must name a Chromium executable, got {named!r}")
        return shutil.which(named)
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def launch_chromium(playwright):
    """A headless Chromium ``Browser`` from ``sync_playwright()``; skips the test without one."""
    path = chromium_path()
    if path is None:
        pytest.skip(f"no Chromium on PATH (tried {', '.join(CHROMIUM_NAMES)}; "
                    "Debian: apt-get install chromium)")
    return playwright.chromium.launch(executable_path=path, args=list(CHROMIUM_ARGS))


def _host(url: str) -> str | None:
    """``host:port`` of an http(s)/ws(s) URL; None for data:, blob: and about: URLs."""
    parts = urlsplit(url)
    return parts.netloc if parts.scheme in ("http", "https", "ws", "wss") else None


@contextmanager
def assert_no_external_requests(page, allowed_host: str) -> Iterator[list[str]]:
    """Fail if ``page`` asks any host but ``allowed_host`` (``"127.0.0.1:8888"``) for anything.

    Use it around everything the page does::

        with assert_no_external_requests(page, f"127.0.0.1:{port}"):
            page.goto(url)

    Requests (scripts, styles, fonts, fetches) and websockets are both watched; the list of
    offending URLs is yielded so that a test can look at it before the check.
    """
    if not allowed_host or "/" in allowed_host:
        raise ValueError(f"allowed_host must be 'host:port', got {allowed_host!r}")
    external: list[str] = []

    def watch(url: str) -> None:
        host = _host(url)
        if host is not None and host != allowed_host:
            external.append(url)

    on_request = lambda request: watch(request.url)  # noqa: E731
    on_websocket = lambda socket: watch(socket.url)  # noqa: E731
    page.on("request", on_request)
    page.on("websocket", on_websocket)
    try:
        yield external
    finally:
        page.remove_listener("request", on_request)
        page.remove_listener("websocket", on_websocket)
    assert not external, f"the page asked other hosts than {allowed_host}: {sorted(set(external))}"
