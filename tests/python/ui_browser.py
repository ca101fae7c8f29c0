"""Drives the gateway's live status page (/ui) in a real headless Chromium through Selenium.

Usage: python3 ui_browser.py BASE_URL MASTER_KEY DEPLOYMENT_ID SCREENSHOT_PATH

Talks to its caller by lines on stdout (each flushed):
  HEALTHY    the deployment's row shows data-state="healthy" after logging in
  COOLING    the row turned "cooling_down" with seconds left > 0 (screenshot taken)
  RECOVERED  the row is "healthy" again, and the page never reloaded
  OK         no SEVERE entries in the browser log and no connection-lost banner; exit 0
On any failure prints "FAIL: <reason>" and exits 1.

Needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver) and the
selenium package.
"""
import os
import re
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# Reads the row atomically in the page: the table is re-rendered every second, so element
# handles taken from Python would go stale between calls.
ROW_JS = """
const id = arguments[0];
const sel = 'tr[data-deployment-id="' + CSS.escape(id) + '"]';
const row = document.querySelector(sel);
if (!row) return null;
const left = row.querySelector('.cooldown-left');
return {state: row.getAttribute('data-state'), cooldown: left ? left.textContent : null};
"""


class Failure(Exception):
    pass


def say(line):
    print(line, flush=True)


def make_driver():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


def wait_for(driver, timeout, what, cond):
    """WebDriverWait polling every 0.1 s; a timeout becomes a Failure naming `what`."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(cond)
    except TimeoutException:
        raise Failure(f"timed out after {timeout} s waiting for {what}") from None


def row(driver, dep_id):
    return driver.execute_script(ROW_JS, dep_id)


def seconds_left(text):
    m = re.search(r"\d+(?:\.\d+)?", text or "")
    return float(m.group(0)) if m else 0.0


def visible(driver, css):
    els = driver.find_elements(By.CSS_SELECTOR, css)
    return bool(els) and els[0].is_displayed()


def log_in(driver, key):
    field = driver.find_element(By.ID, "key")
    field.clear()
    field.send_keys(key)
    driver.find_element(By.ID, "login").click()


def describe_row(driver, dep_id):
    try:
        return repr(row(driver, dep_id))
    except WebDriverException as e:
        return f"<unreadable: {e.msg}>"


def run(base, key, dep_id, shot):
    driver = make_driver()
    try:
        driver.set_page_load_timeout(30)
        driver.set_script_timeout(10)
        driver.get(base.rstrip("/") + "/ui")

        # 1. Login form, a refused key, then the right one.
        wait_for(driver, 10, "the login form", lambda d: visible(d, "#key") and visible(d, "#login"))
        if visible(driver, "#login-error"):
            raise Failure("#login-error is visible before any login attempt")
        log_in(driver, "wrong-" + key)
        wait_for(driver, 15, "#login-error after a wrong key",
                 lambda d: visible(d, "#login-error") and d.find_element(By.ID, "login-error").text.strip())
        if not visible(driver, "#key"):
            raise Failure("the login form is not shown again after a refused key")
        time.sleep(0.2)  # let the 401's console entry reach the log before it is discarded
        driver.get_log("browser")  # the 401 resource error is expected; drop it
        log_in(driver, key)

        # 2. Healthy.
        wait_for(driver, 30, f"deployment {dep_id!r} to be healthy",
                 lambda d: (row(d, dep_id) or {}).get("state") == "healthy")
        load_id = driver.execute_script("return window.__switchyardLoadId;")
        if load_id is None:
            raise Failure("window.__switchyardLoadId is not set")
        if visible(driver, "#login-error") or visible(driver, "#key"):
            raise Failure("the login form is still shown after a successful login")
        say("HEALTHY")

        # 3. Cooling down, with seconds left on the clock.
        def cooling(d):
            r = row(d, dep_id) or {}
            return r.get("state") == "cooling_down" and seconds_left(r.get("cooldown")) > 0

        try:
            wait_for(driver, 60, f"deployment {dep_id!r} to be cooling_down with seconds left", cooling)
        except Failure as e:
            raise Failure(f"{e}; last row: {describe_row(driver, dep_id)}") from None
        if os.path.dirname(shot):
            os.makedirs(os.path.dirname(shot), exist_ok=True)
        if not driver.save_screenshot(shot):
            raise Failure(f"could not write the screenshot to {shot}")
        say("COOLING")

        # 4. Recovered, without a reload.
        try:
            wait_for(driver, 60, f"deployment {dep_id!r} to be healthy again",
                     lambda d: (row(d, dep_id) or {}).get("state") == "healthy")
        except Failure as e:
            raise Failure(f"{e}; last row: {describe_row(driver, dep_id)}") from None
        now_id = driver.execute_script("return window.__switchyardLoadId;")
        if now_id != load_id:
            raise Failure(f"the page reloaded (load id {load_id!r} became {now_id!r})")
        say("RECOVERED")

        # 5. A clean console and no connection-lost banner.
        severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        if severe:
            for e in severe:
                say(f"SEVERE: {e.get('message')}")
            raise Failure(f"{len(severe)} SEVERE browser log entries")
        if visible(driver, "#conn"):
            raise Failure("the connection-lost banner is visible: " + driver.find_element(By.ID, "conn").text)
        say("OK")
    finally:
        try:
            driver.quit()
        except Exception:
            pass


def main():
    if len(sys.argv) != 5:
        say("FAIL: usage: ui_browser.py BASE_URL MASTER_KEY DEPLOYMENT_ID SCREENSHOT_PATH")
        return 1
    base, key, dep_id, shot = sys.argv[1:]
    try:
        run(base, key, dep_id, shot)
    except Failure as e:
        say(f"FAIL: {e}")
        return 1
    except WebDriverException as e:
        say(f"FAIL: webdriver: {(e.msg or str(e)).strip().splitlines()[0] if (e.msg or str(e)).strip() else type(e).__name__}")
        return 1
    except Exception as e:  # anything else is a failure too, reported on the protocol line
        say(f"FAIL: {type(e).__name__}: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
