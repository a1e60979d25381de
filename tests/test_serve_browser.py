"""The page in a real headless browser (Debian's chromium and chromedriver, driven by
selenium): it loads, a pick plays from the library (the audio element reports progress), the
"never again" button bans the track in the database, and a hostile tag stays text. The test
saves screenshots beside its other files."""

from __future__ import annotations

import shutil
import sqlite3
import time

import pytest

from tests.serve_home import HOSTILE_ARTIST, make_home, start_serve

webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs selenium")
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="the browser test needs apt's chromium and chromium-driver"
)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = make_home(tmp_path_factory.mktemp("browser"))
    for server in start_serve(home.env):
        yield home, server


@pytest.fixture
def browser(tmp_path):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    # As the machine's notes say: no sandbox as root, and none of Chromium's own network
    # traffic (the machine reaches nothing beyond loopback).
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-sync",
                 "--disable-component-update", "--autoplay-policy=no-user-gesture-required",
                 "--mute-audio", f"--user-data-dir={tmp_path / 'profile'}",
                 "--window-size=1200,2400"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def test_the_page_plays_a_pick_and_bans_one_in_a_real_browser(served, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    home, server = served
    browser.get(server.url)
    picks = browser.find_elements(By.CSS_SELECTOR, "li.pick")
    assert len(picks) == 8
    browser.save_screenshot(str(tmp_path / "page.png"))
    # Play the first pick: the element reports progress from the file the server streams.
    player = picks[0].find_element(By.TAG_NAME, "audio")
    started = browser.execute_script(
        "return arguments[0].play().then(() => 'playing').catch(e => String(e));", player
    )
    assert started == "playing"
    WebDriverWait(browser, 30).until(
        lambda _: browser.execute_script("return arguments[0].currentTime;", player) > 0.2
    )
    assert browser.execute_script("return arguments[0].error;", player) is None
    # "never again" on the second pick: the script posts it, the page marks it in place.
    second = picks[1]
    track = int(second.get_attribute("data-track"))
    second.find_element(By.CSS_SELECTOR, "button.ban").click()
    WebDriverWait(browser, 30).until(lambda _: "said-ban" in second.get_attribute("class"))
    browser.save_screenshot(str(tmp_path / "banned.png"))
    deadline = time.monotonic() + 10
    while True:
        conn = sqlite3.connect(home.database)
        banned = conn.execute("SELECT 1 FROM bans WHERE track_id = ?", (track,)).fetchone()
        conn.close()
        if banned or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert banned
    # The map loads, and the hostile tag is text in it, not markup that ran.
    browser.get(f"{server.url}/map.svg")
    titles = browser.execute_script(
        "return Array.from(document.querySelectorAll('title')).map(t => t.textContent);"
    )
    assert any(HOSTILE_ARTIST in title for title in titles)
    assert browser.execute_script("return document.querySelectorAll('script').length;") == 0
    browser.save_screenshot(str(tmp_path / "map.png"))
    assert (tmp_path / "page.png").stat().st_size > 10_000
