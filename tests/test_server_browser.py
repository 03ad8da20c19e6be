"""The call board in a real browser: Debian's headless Chromium, driven by Selenium and chromium-driver.

The test signs in with the token (the board's cookie), feeds calls through the
webhook endpoint of a real uvicorn, and watches the board change without a reload.
It saves a screenshot under the test's tmp path, and also to ``DIALFSM_SCREENSHOT``
when that is set.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dialfsm.server import MemoryStore, ServerConfig, create_app
from tests.server_support import SECRET, ThreadedServer, body_of, envelope, signed_headers

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver); CI installs them",
)
TOKEN = "board-token-for-the-test"


@pytest.fixture
def server() -> Iterator[ThreadedServer]:
    app = create_app(
        ServerConfig(), store=MemoryStore(), environ={"DAILY_WEBHOOK_SECRET": SECRET, "DIALFSM_TOKEN": TOKEN}
    )
    with ThreadedServer(app) as running:
        yield running


@pytest.fixture
def browser() -> Iterator[Any]:
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1440,900",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def feed(server: ThreadedServer, kind: str, room: str, sid: str, **payload: object) -> None:
    data = envelope(kind, room=room, session_id=sid, timestamp=str(int(time.time())))
    data["payload"].update(payload)
    body = body_of(data)
    response = httpx.post(server.url + "/webhook", content=body, headers=signed_headers(body), timeout=10)
    assert response.status_code == 200, response.text


def wait_for(driver: Any, script: str, what: str, seconds: float = 20.0) -> Any:
    """Poll a JavaScript expression until it is truthy (bounded); fail with ``what`` otherwise."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds, poll_frequency=0.1).until(lambda d: d.execute_script(script), what)


def row_state(sid: str, state: str | None = None) -> str:
    """A script returning the state the board shows for ``sid`` (with ``state``: whether it is that)."""
    short = sid[:8] + "…" + sid[-4:] if len(sid) > 14 else sid
    found = (
        f"const r=[...document.querySelectorAll('#calls tr')].find(t=>t.children[1].textContent==={short!r});"
        "const s = r ? r.children[3].textContent : null;"
    )
    return found + ("return s;" if state is None else f"return s === {state!r};")


def sign_in(browser: Any, server: ThreadedServer) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/")
    wait_for(browser, "return location.pathname === '/login'", "the board sends a visitor without the cookie to /login")
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, "return document.getElementById('conn').className === 'live'", "the live feed connects")


def feed_more_calls(server: ThreadedServer) -> None:
    """Four more calls in three rooms: live, ringing, completed, failed."""
    for n, room in enumerate(("sales-7", "sales-7", "billing", "billing-2")):
        sid = f"9{n}e1c0de-77aa-4bb2-8cc3-d4e5f6a7b8c{n}"
        feed(server, "dialin.connected", room, sid, sip_from=f"+1212555010{n}")
        if n != 1:
            feed(server, "participant.joined", room, sid)
        if n == 2:
            feed(server, "dialin.stopped", room, sid)
        if n == 3:
            feed(server, "dialin.error", room, sid, error_msg="SIP 486 Busy Here from +12125550103")


def test_the_board_shows_calls_live_and_a_timeline(server: ThreadedServer, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, server)
    browser.execute_script("window.notReloaded = true;")
    caller = "5c7f0d2e-8a1b-4c3d-9e5f-a1b2c3d4e5f6"
    feed(server, "dialin.connected", "support-line", caller, sip_from="+14155550123", display_name="Ann")
    assert wait_for(browser, row_state(caller), "the call appears") == "connected"
    feed(server, "participant.joined", "support-line", caller)
    wait_for(browser, row_state(caller, "joined"), "the row moves to joined, live")
    assert browser.execute_script("return window.notReloaded") is True
    feed_more_calls(server)
    wait_for(browser, "return document.querySelectorAll('#calls tr').length === 5", "five calls on the board")

    short = caller[:8] + "…" + caller[-4:]
    browser.execute_script(
        f"[...document.querySelectorAll('#calls tr')].find(t=>t.children[1].textContent==={short!r}).click();"
    )
    wait_for(browser, "return document.querySelectorAll('#timeline li').length === 2", "the call's timeline")
    timeline = browser.find_element(By.ID, "timeline").text
    assert "dialin-connected" in timeline
    assert "connected → joined" in timeline
    assert "+14155550123" not in browser.page_source  # numbers are masked on the board
    feed(server, "dialin.stopped", "support-line", caller)
    wait_for(browser, "return document.querySelectorAll('#timeline li').length === 3", "the timeline grows live")
    wait_for(browser, row_state(caller, "stopped"), "the call ends on the board")

    shot = tmp_path / "board.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    extra = os.environ.get("DIALFSM_SCREENSHOT")
    if extra:
        shutil.copyfile(shot, extra)
