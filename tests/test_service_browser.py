"""The service's web page in headless Chromium (slow): sign in with a token, upload a
notebook (with the file chooser, and by dropping it), watch it go from queued to graded,
read its feedback; no Content-Security-Policy violation in the console; axe-core finds
no serious or critical accessibility violation, signed out or in. The grading is the
stub of test_service.py (a second per submission), so the page is what is tested."""
from __future__ import annotations

import json

import pytest
from test_book import _axe_serious
from test_service import CH04, CH05, Server, make_tokens, notebook

from helpers import chromium

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser") / "course"
    toks = make_tokens(root)
    server = Server(root, delay=1.5)
    yield server.url, toks, root
    server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = chromium(tmp_path_factory.mktemp("chromium-profile"), {"goog:loggingPrefs": {"browser": "ALL"}})
    yield driver
    driver.quit()


def test_sign_in_upload_watch_and_read_feedback(site, browser, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, toks, _ = site
    # the page redraws the table as statuses change: an element read as it is replaced is read again
    wait = WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,))
    browser.get(url + "/")
    assert _axe_serious(browser, "/ (signed out)") == []
    browser.find_element(By.ID, "token").send_keys("not-a-token")
    browser.find_element(By.CSS_SELECTOR, "#signin-form button").click()
    wait.until(lambda b: "not valid" in b.find_element(By.ID, "signin-error").text)
    browser.find_element(By.ID, "token").clear()
    browser.find_element(By.ID, "token").send_keys(toks["ana"])
    browser.find_element(By.CSS_SELECTOR, "#signin-form button").click()
    wait.until(lambda b: b.find_element(By.ID, "who").text == "ana")
    assert not browser.find_element(By.ID, "signin").is_displayed()

    path = tmp_path / CH04.path.name
    path.write_bytes(notebook(6))
    browser.find_element(By.ID, "notebook").send_keys(str(path))
    browser.find_element(By.CSS_SELECTOR, "#upload-form button").click()
    wait.until(lambda b: "received" in b.find_element(By.ID, "upload-status").text)
    status = lambda b: b.find_element(By.CSS_SELECTOR, "#submissions tbody tr .status").text  # noqa: E731
    assert status(browser) in ("queued", "running")
    wait.until(lambda b: status(b) == "graded")
    wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "#submissions tbody tr .score").text == "6 / 10")
    chapter_row = "//table[@id='chapters']//td[starts-with(., 'ch04')]/.."
    wait.until(lambda b: "6 / 10" in b.find_element(By.XPATH, chapter_row).text)

    browser.find_element(By.CSS_SELECTOR, "#submissions tbody tr button").click()
    wait.until(lambda b: b.find_element(By.ID, "feedback").is_displayed())
    assert "STUB-DIAGNOSIS" in browser.find_element(By.ID, "exercises").text
    frame = browser.find_element(By.ID, "feedback-frame")
    wait.until(lambda b: "/feedback/" in (frame.get_attribute("src") or ""))
    browser.switch_to.frame(frame)
    wait.until(lambda b: "feedback of ana" in b.find_element(By.TAG_NAME, "body").text)
    browser.switch_to.default_content()

    # drop a notebook on the page
    browser.execute_script(
        "const dt = new DataTransfer();"
        "dt.items.add(new File([arguments[0]], arguments[1], {type: 'application/json'}));"
        "document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true}));",
        notebook(10).decode(), CH05.path.name)
    wait.until(lambda b: "ch05" in b.find_element(By.ID, "upload-status").text)
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#submissions tbody tr")) == 2)
    wait.until(lambda b: status(b) == "graded")
    assert _axe_serious(browser, "/ (signed in)") == []

    logs = browser.get_log("browser")
    csp = [e for e in logs if "Content Security Policy" in e.get("message", "")]
    assert csp == [], json.dumps(csp, indent=1)
    # the one error expected: the 401 of the wrong token tried first
    assert [e for e in logs if e.get("level") == "SEVERE" and "401" not in e["message"]] == [], logs
