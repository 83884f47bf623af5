"""Headless Chromium for the browser tests (tests/test_docs.py, tests/test_jupyterlab.py): Debian's `chromium` and
`chromium-driver` (tools/install_browser.sh installs them) driven by selenium, never a downloaded browser."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "results" / "docs"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-dev-shm-usage",
         "--hide-scrollbars", "--window-size=1280,1400"]


def find_browser() -> tuple[str, str] | None:
    "(chromium, chromedriver) paths, or None."
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


def require_browser() -> tuple[str, str]:
    "Skip (with the reason and the fix) where Chromium, chromedriver or selenium is missing."
    found = find_browser()
    if not found:
        pytest.skip("headless Chromium not found (need `chromium` and `chromedriver` on PATH): "
                    "run `bash tools/install_browser.sh` (Debian packages chromium, chromium-driver)")
    pytest.importorskip("selenium", reason="selenium is not installed in this environment (a dev requirement)")
    return found


class Browser:
    "A fresh headless Chromium (own profile folder) with its console log readable; use as a context manager."

    def __init__(self, chromium: str, driver: str, page_load_s: int = 60):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        os.environ.setdefault("SE_OFFLINE", "true")          # selenium-manager must not try to download anything
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = chromium
        for f in FLAGS + [f"--user-data-dir={self.profile}"]: opts.add_argument(f)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(executable_path=driver), options=opts)
        self.driver.set_page_load_timeout(page_load_s)
        self.driver.set_script_timeout(page_load_s)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        try: self.driver.quit()
        finally: shutil.rmtree(self.profile, ignore_errors=True)

    def console(self) -> list[dict]:
        "Console entries since the last call."
        return self.driver.get_log("browser")

    def console_errors(self, ignore: tuple[str, ...] = ()) -> list[str]:
        return [e["message"] for e in self.console()
                if e["level"] == "SEVERE" and not any(i in e["message"] for i in ignore)]

    def wait(self, js: str, timeout: float, what: str, poll: float = 0.25):
        "Wait until the JavaScript expression `js` is truthy; its value, or a failure naming `what`."
        from selenium.webdriver.support.ui import WebDriverWait
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=poll).until(
                lambda d: d.execute_script(f"return ({js});"))
        except Exception as e:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}") from e

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        "Save a PNG under results/docs/ (the whole page height, up to 12000 px)."
        SHOTS.mkdir(parents=True, exist_ok=True)
        d = self.driver
        if full_page:
            h = d.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight);")
            d.set_window_size(1280, min(max(int(h) + 40, 800), 12000))
            d.execute_script("window.scrollTo(0, 0);")
        path = SHOTS / f"{name}.png"
        d.save_screenshot(str(path))
        if full_page: d.set_window_size(1280, 1400)
        return path
