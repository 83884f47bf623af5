"""The rendered docs in a real browser: build the site (tools/build_docs.py), open the index and the sampling page in
headless Chromium, check the console, the images and links, play the demo's reconstruction video, drag a
pre-rendered slider, save screenshots to results/docs/."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from browser import Browser, require_browser

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "_docs"
SAMPLING = "00b_sampling"     # the sampling notebook: its page embeds the pre-rendered sliders
# The pages this test opens must show their outputs: the build may execute these two (the rest come from the cache or an
# executed copy under results/, else render without outputs); a build of the same inputs is reused (--if-stale).
BUILD = [sys.executable, str(ROOT / "tools" / "build_docs.py"), "--execute", f"index,{SAMPLING}", "--if-stale",
         "--strict"]
BUILD_TIMEOUT_S = int(os.environ.get("DOCS_BUILD_TIMEOUT_S", "900"))
VIDEO = ROOT / "results" / "demo" / "reconstruction.webm"    # `make demo` renders it; the index page plays it


@pytest.fixture(scope="module")
def browser_paths():
    return require_browser()


@pytest.fixture(scope="module")
def site(browser_paths) -> Path:
    t0 = time.time()
    r = subprocess.run(BUILD, cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False)
    assert r.returncode == 0, f"docs build failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    info = json.loads((DOCS / ".build-info.json").read_text())
    for page in ("index", SAMPLING):
        how = info["pages"][page]
        assert not how.startswith(("not executed", "FAILED")), f"{page} has no outputs: {how}"
    print(f"docs build {time.time() - t0:.0f}s: {info['pages']}")
    return DOCS


@pytest.fixture(scope="module")
def server(site):
    "The site over HTTP on 127.0.0.1 (as a reader or a docs host serves it: file:// pages may not load fonts)."
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    handler = partial(Quiet, directory=str(site))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown(); httpd.server_close()


@pytest.fixture
def browser(browser_paths):
    with Browser(*browser_paths) as b:
        yield b


def _local(url: str) -> Path | None:
    "The file under _docs/ that a URL of the local server names (None for other hosts and data: URLs)."
    u = urlparse(url)
    return DOCS / unquote(u.path).lstrip("/") if u.scheme == "http" and u.hostname == "127.0.0.1" else None


def check_page(b: Browser, base: str, page: str, math: bool = False) -> dict:
    "Open `page`; assert no console errors, every image decoded and on disk, every local link and asset present."
    b.driver.get(f"{base}/{page}")
    b.wait("document.readyState === 'complete'", 30, f"{page} to load")
    if math:  # MathJax 2 typesets asynchronously; errors would show in the console or as merror nodes
        b.wait("window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 && "
               "document.querySelectorAll('.MathJax, .MathJax_Display').length > 0", 60, "MathJax to typeset the page")
        merrors = b.driver.execute_script("return document.querySelectorAll('.merror, .MathJax_Error').length")
        assert not merrors, "MathJax error on the page"
    b.wait("Array.from(document.images).every(i => i.complete)", 30, "images to load")
    imgs = b.driver.execute_script("return Array.from(document.images).map(i => [i.src, i.naturalWidth]);")
    broken = [src[:120] for src, w in imgs if not w]
    assert not broken, f"{page}: images that did not load: {broken}"
    missing = [src for src, _ in imgs if (p := _local(src)) and not p.is_file()]
    assert not missing, f"{page}: images referenced but absent: {missing}"
    anchors = b.driver.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);")
    assets = b.driver.execute_script("""return [].concat(
        Array.from(document.querySelectorAll('link[href]')).map(l => l.href),
        Array.from(document.querySelectorAll('script[src]')).map(s => s.src),
        Array.from(document.querySelectorAll('iframe[src]')).map(f => f.src),
        Array.from(document.images).map(i => i.src));""")
    dead = sorted({r for r in anchors + assets if (p := _local(r.split('#')[0].split('?')[0])) and not p.exists()})
    assert not dead, f"{page}: links to files that do not exist: {dead}"
    remote = sorted({r for r in assets if urlparse(r).scheme in ("http", "https") and not _local(r)})
    assert not remote, f"{page}: loads assets from the network: {remote}"
    errors = b.console_errors()
    assert not errors, f"{page}: console errors: {errors}"
    return dict(images=len(imgs), links=len(anchors), assets=len(assets))


def test_index_page(server, browser):
    t0 = time.time()
    stats = check_page(browser, server, "index.html")
    d = browser.driver
    text = d.execute_script("return document.body.innerText;")
    sections = ("The problem", "Data: frames, sampling, pipeline", "Networks", "Pretrained networks and the objective",
                "Runs: configuration, checkpoints, training and evaluation", "Results")
    for section in sections:
        assert section in text, f"index lacks the section {section!r}"
    nav = d.execute_script("return Array.from(document.querySelectorAll('.sidebar-tree a'))"
                           ".map(a => a.getAttribute('href'));")
    numbered = sorted(p.stem for p in (ROOT / "nbs").glob("[0-9]*.ipynb"))
    assert [n for n in numbered if f"{n}.html" not in nav] == [], f"navigation misses notebooks: {nav}"
    shown = [h.split("#")[0].removesuffix(".html") for h in nav]
    order = [n for n in shown if n in numbered]
    assert order == sorted(order), f"navigation is not in file-name (data-flow) order: {order}"
    demo = ROOT / "results" / "demo"
    if (demo / "metrics.md").is_file():
        tables = d.execute_script("return document.querySelectorAll('table').length")
        assert tables > 0, "results table missing from the index"
    else:
        assert "make demo" in text
    if list(demo.glob("*.png")):
        assert stats["images"] > 0, "results figures exist but the index shows none"
    shot = browser.screenshot("index")
    print(f"index: {stats}, screenshot {shot.relative_to(ROOT)} ({time.time() - t0:.1f}s)")


def check_video(b: Browser, url: str, timeout: float = 30) -> dict:
    """Open `url`; assert it has one <video> whose source loads (metadata: readyState >= 1, a duration > 0, a frame
    size), whose first frame decodes and which plays; no console errors. Its properties."""
    d = b.driver
    d.get(url)
    b.wait("document.readyState === 'complete'", timeout, f"{url} to load")
    assert d.execute_script("return document.querySelectorAll('video').length") == 1, f"{url}: no single <video>"
    d.execute_script("document.querySelector('video').scrollIntoView();")
    # a failure ends the wait at once: a media error (4: a codec this browser lacks) or no <source> that loads
    # (networkState 3, NETWORK_NO_SOURCE: a 404 or a type this browser does not play)
    state = b.wait("(v => v.error ? {error: v.error.code, message: v.error.message} : v.networkState === 3 ? "
                   "{error: 'no source could be loaded (NETWORK_NO_SOURCE)'} : (v.readyState >= 2 && v.duration > 0) "
                   "? {ready: v.readyState} : null)(document.querySelector('video'))", timeout,
                   "the video's metadata and first frame (loadedmetadata, loadeddata)")
    src = d.execute_script("return document.querySelector('video source').src;")
    assert "error" not in state, f"{url}: the video {src} did not load: {state}"
    v = d.execute_script("""const v = document.querySelector('video');
        return {src: v.currentSrc, poster: v.poster, duration: v.duration, width: v.videoWidth, height: v.videoHeight,
                muted: v.muted, loop: v.loop, controls: v.controls, ready: v.readyState};""")
    assert v["duration"] > 0 and v["width"] > 0 and v["height"] > 0, v
    assert v["src"].endswith(".webm") and v["muted"] and v["loop"] and v["controls"], v
    d.execute_script("document.querySelector('video').play();")       # muted: allowed without a user gesture
    b.wait("(v => v.error || v.currentTime > 0)(document.querySelector('video'))", timeout, "the video to play")
    assert not d.execute_script("return document.querySelector('video').error"), "the video failed while playing"
    errors = b.console_errors()
    assert not errors, f"{url}: console errors: {errors}"
    return v


@pytest.mark.skipif(not VIDEO.is_file(), reason=f"{VIDEO.relative_to(ROOT)} is absent: `make demo` renders it")
def test_index_video(server, browser):
    "The home page plays the demo's reconstruction video (WebM, copied into the site's _static/demo/)."
    v = check_video(browser, f"{server}/index.html")
    for url in (v["src"], v["poster"]):
        if url: assert (p := _local(url)) and p.is_file(), f"{url} is not a file of the site"
    assert _local(v["src"]).read_bytes() == VIDEO.read_bytes(), "the site's video is not results/demo's"
    shot = browser.screenshot("index_video", full_page=False)
    print(f"index video: {v['width']}x{v['height']}, {v['duration']:.2f}s, {VIDEO.stat().st_size} bytes; "
          f"screenshot {shot.relative_to(ROOT)}")


def test_sampling_page_and_sliders(server, browser):
    t0 = time.time()
    stats = check_page(browser, server, f"{SAMPLING}.html", math=True)
    assert stats["images"] >= 3, f"the sampling page shows {stats['images']} figures: was it executed?"
    d = browser.driver
    code = d.execute_script("return Array.from(document.querySelectorAll('div.highlight pre'))"
                            ".map(p => p.innerText).join('\\n');")
    leaked = [l for l in code.splitlines() if l.lstrip().startswith("#|")]
    assert not leaked, f"nbdev directives leaked into the rendered code: {leaked[:3]}"
    shot = browser.screenshot(SAMPLING)
    frame = d.find_element("css selector", "iframe[src*='sliders']")
    d.execute_script("arguments[0].scrollIntoView();", frame)
    # the pre-rendered sliders: drag the inner radius with the keyboard, as a reader would, and watch the kept fraction
    d.switch_to.frame(frame)
    browser.wait("document.readyState === 'complete' && document.getElementById('fraction').textContent.length > 0",
                 20, "the slider page")
    browser.wait("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)", 20, "slider images")
    before = d.find_element("id", "fraction").text
    src_before = d.find_element("id", "mask").get_attribute("src")
    browser.screenshot("sliders_before", full_page=False)
    from selenium.webdriver.common.keys import Keys
    slider = d.find_element("id", "r_inner")
    d.execute_script("arguments[0].focus();", slider)
    slider.send_keys(Keys.HOME)
    slider.send_keys(Keys.ARROW_RIGHT)   # r_inner: 0 -> 10
    browser.wait("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)", 20,
                 "slider images after the move")
    after = d.find_element("id", "fraction").text
    assert d.find_element("id", "r_inner_v").text == "10"
    assert after != before and after.startswith("kept "), (before, after)
    assert d.find_element("id", "mask").get_attribute("src") != src_before
    browser.screenshot("sliders_after", full_page=False)
    d.switch_to.default_content()
    assert not browser.console_errors(), "console errors on the slider page"
    print(f"{SAMPLING}: {stats}; slider {before!r} -> {after!r}; screenshot {shot.relative_to(ROOT)} "
          f"({time.time() - t0:.1f}s)")
