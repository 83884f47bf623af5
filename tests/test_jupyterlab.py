"""JupyterLab smoke test: a real `jupyter lab` on 127.0.0.1 with a token, the sampling notebook opened in headless
Chromium, its slider cell run, one slider moved, and the kept fraction seen to change. Screenshots before and after go
to results/docs/. A copy of the notebook is opened, so JupyterLab's autosave never writes to nbs/."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from browser import Browser, require_browser

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "nbs" / "00b_sampling.ipynb"
SERVER_START_S, RUN_S, SLIDER_S = 90, 150, 60     # bounded waits; the whole test stays within about 3 minutes

APP = "window.jupyterapp"
PANEL = f"{APP}.shell.currentWidget"
# the index of the notebook's slider cell (the one building the `interactive` panel)
SLIDER_IDX = f"{PANEL}.content.widgets.findIndex(c => c.model.sharedModel.getSource().includes('interactive('))"
SLIDER_CELL = f"{PANEL}.content.widgets[{SLIDER_IDX}]"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(base: str, token: str, path: str, method: str = "GET", timeout: float = 5):
    req = urllib.request.Request(f"{base}{path}", method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        body = r.read()
    return json.loads(body) if body else None


@pytest.fixture
def lab(tmp_path):
    "A JupyterLab server on 127.0.0.1 serving a copy of the sampling notebook; stopped (kernels too) at the end."
    require_browser()
    work = tmp_path / "work"; work.mkdir()
    shutil.copy(NB, work / NB.name)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
               IPYTHONDIR=str(tmp_path / "ipython"), PYTHONUNBUFFERED="1")
    news = tmp_path / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))   # no news prompt in the screenshots
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}", "--LabApp.expose_app_in_browser=True",
           "--ServerApp.shutdown_no_activity_timeout=600", "--LabApp.extension_manager=readonly",     # no PyPI look-ups
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0: cmd.append("--allow-root")
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.time()
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{(tmp_path / 'lab.log').read_text()[-3000:]}")
            try:
                _api(base, token, "/api/status"); break
            except OSError:
                if time.time() - t0 > SERVER_START_S:
                    pytest.fail(f"jupyter lab did not answer within {SERVER_START_S}s:\n"
                                f"{(tmp_path / 'lab.log').read_text()[-3000:]}")
                time.sleep(0.5)
        print(f"jupyter lab up in {time.time() - t0:.1f}s on {base}")
        yield dict(base=base, token=token, work=work)
    finally:
        try:  # kernels run in their own sessions: shut them down through the server before stopping it
            for k in _api(base, token, "/api/kernels"):
                _api(base, token, f"/api/kernels/{k['id']}", "DELETE", timeout=15)
            _api(base, token, "/api/shutdown", "POST")
        except Exception:
            pass
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try: proc.wait(timeout=10)
            except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL); proc.wait(timeout=10)
        log.close()


def _kernel_run(b: Browser, code: str) -> str:
    "Run `code` in the notebook's kernel (outside any cell) and return what it printed."
    return b.driver.execute_async_script(f"""
        const done = arguments[arguments.length - 1];
        const k = {PANEL}.sessionContext.session.kernel;
        let out = '';
        const f = k.requestExecute({{code: arguments[0], store_history: false}});
        f.onIOPub = m => {{ if (m.header.msg_type === 'stream') out += m.content.text;
                            if (m.header.msg_type === 'error')
                                out += 'ERROR ' + m.content.ename + ': ' + m.content.evalue; }};
        f.done.then(() => done(out), e => done('ERROR ' + e));""", code)


def test_sampling_sliders_in_jupyterlab(lab):
    t0 = time.time()
    with Browser(*require_browser(), page_load_s=90) as b:
        d = b.driver
        d.get(f"{lab['base']}/lab/tree/{NB.name}?token={lab['token']}")
        b.wait(f"{APP} && {PANEL} && {PANEL}.content && {PANEL}.content.widgets.length > 10 && "
               f"{PANEL}.sessionContext.session && {PANEL}.sessionContext.session.kernel && "
               f"{PANEL}.sessionContext.session.kernel.connectionStatus === 'connected' && "
               f"{PANEL}.sessionContext.session.kernel.status === 'idle'", SERVER_START_S,
               "the notebook and its kernel")
        idx = d.execute_script(f"return {SLIDER_IDX};")
        assert idx > 0, f"no slider cell (`interactive(`) in {NB.name}"
        # run every cell above the slider cell, then the slider cell itself
        d.execute_script(f"{PANEL}.content.activeCellIndex = arguments[0];"
                         f"{APP}.commands.execute('notebook:run-all-above')"
                         f".then(() => {APP}.commands.execute('notebook:run-cell'));", idx)
        b.wait(f"{SLIDER_CELL}.model.executionCount !== null && "
               f"{PANEL}.sessionContext.session.kernel.status === 'idle' && "
               f"{SLIDER_CELL}.node.querySelectorAll('.widget-slider').length >= 7", RUN_S,
               "the slider cell to run and show its sliders", poll=1)
        errors = d.execute_script(f"return {PANEL}.content.widgets.slice(0, arguments[0] + 1).flatMap(c => "
                                  "Array.from(c.node.querySelectorAll("
                                  "'.jp-RenderedText[data-mime-type=\"application/vnd.jupyter.stderr\"]'))"
                                  ".map(n => n.innerText)).filter(t => t.includes('Error'));", idx)
        assert not errors, f"cells above the sliders failed: {errors[:2]}"
        d.execute_script(f"{SLIDER_CELL}.node.scrollIntoView();")
        static = d.execute_script(f"const i = {SLIDER_CELL}.node.querySelector('.jp-OutputArea-output img');"
                                  " return i && i.src;")
        assert static, "the slider cell shows no static figure"
        default_title = _kernel_run(b, "_f = fovea_panel(); print(_f.get_suptitle()); plt.close(_f)").strip()
        assert default_title.startswith("kept "), default_title
        shot_before = b.screenshot("jupyterlab_before", full_page=False)

        # move the inner-radius slider: type a value into its readout, as a user can
        readout = d.execute_script(f"""return Array.from({SLIDER_CELL}.node.querySelectorAll('.widget-slider'))
            .find(s => s.querySelector('.widget-label').textContent.trim() === 'inner r')
            .querySelector('.widget-readout');""")
        readout.click()
        from selenium.webdriver.common.keys import Keys
        readout.send_keys(Keys.CONTROL, "a")
        readout.send_keys("35", Keys.ENTER)
        d.execute_script("window.__staticFigure = arguments[0];", static)
        b.wait(f"(() => {{ const i = {SLIDER_CELL}.node"
               ".querySelector('.widget-output img, .jupyter-widgets-output-area img');"
               f" return i && i.complete && i.naturalWidth > 0 && i.src !== window.__staticFigure; }})()",
               SLIDER_S, "the panel to redraw after the slider moved")
        now = json.loads(_kernel_run(b, "import json; print(json.dumps(dict(panel.kwargs)))"))
        assert now["r_inner"] == 35, now
        title = _kernel_run(b, "_f = fovea_panel(**panel.kwargs); print(_f.get_suptitle()); plt.close(_f)").strip()
        assert title.startswith("kept ") and title != default_title, (default_title, title)
        d.execute_script(f"{SLIDER_CELL}.node.querySelector('.widget-interact, .widget-slider').scrollIntoView();")
        shot_after = b.screenshot("jupyterlab_after", full_page=False)
        print(f"jupyterlab: slider cell #{idx}; {default_title!r} -> {title!r}; "
              f"screenshots {shot_before.name}, {shot_after.name} "
              f"({time.time() - t0:.0f}s)")
