"""Issue 15's data-loss cases (and diverging runs), one row each: the call, the message it must give, what must be left.

Each row's `head` says how the code before the fix (a45a8bf) fails it. Runs use the tiny preset, in process where a
second process is not the point; new names of the fix are imported inside the rows, so each row fails on its own.
"""
import contextlib
import errno
import importlib.util
import io
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from unittest import mock

import pytest
import torch

import deepfovea_nb.train as train_mod
from deepfovea_nb.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from deepfovea_nb.config import make_config

ROOT = Path(__file__).resolve().parents[1]
CK = "checkpoints/ckpt_{:08d}.pt"


def cfg(out: Path, steps: int, resume=None, **train):
    return make_config("tiny", {"train": {"out_dir": str(out), "steps": steps, "resume": resume, **train}})


def run_quietly(c) -> str:
    "Train `c`; what it printed and warned (an error propagates)."
    buf = io.StringIO()
    with warnings.catch_warnings(record=True) as w, contextlib.redirect_stdout(buf):
        warnings.simplefilter("always")
        train_mod.train(c, progress=False)
    return buf.getvalue() + "\n".join(str(x.message) for x in w)


def refused(fn) -> str:
    "The message of the error `fn()` must raise."
    with pytest.raises(Exception) as e: fn()
    return str(e.value)


def snapshot(folder: Path) -> dict:
    "Every file of a run folder but its lock, with its bytes."
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "run.lock"}


@contextlib.contextmanager
def unchanged(folder: Path):
    "Assert that nothing of the run in `folder` (checkpoints, log.jsonl, run.json, ...) changes in the block."
    before = snapshot(folder)
    assert before, f"{folder} is empty: nothing to protect"
    yield
    after = snapshot(folder)
    assert after == before, f"{folder} changed: {sorted(set(before) ^ set(after)) or 'contents'}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    "Run A: a real tiny run of 2 steps, a checkpoint per step. Run B: another run (its own id) of the same config."
    base = tmp_path_factory.mktemp("runs")
    train_mod.train(cfg(base / "A", 2, ckpt_every=1, keep_last=10), progress=False)
    b = copy_of(base / "A", base / "B")          # as a second training run would be, but without its CPU minutes
    info = json.loads((b / "run.json").read_text()); info["run_id"] = "b" * 32
    (b / "run.json").write_text(json.dumps(info))
    for p in list_checkpoints(b / "checkpoints"):
        ck = torch.load(p, weights_only=True); ck["run_id"] = "b" * 32; torch.save(ck, p)
    return {"A": base / "A", "B": b}


def copy_of(run: Path, dest: Path) -> Path:
    shutil.copytree(run, dest, ignore=shutil.ignore_patterns("run.lock"))
    return dest


# ---- the rows -------------------------------------------------------------------------------------------------------

def foreign_checkpoint(tmp, runs):
    a = copy_of(runs["A"], tmp / "a")
    with unchanged(a): return refused(lambda: train_mod.train(cfg(a, 3, str(runs["B"] / CK.format(2)))))


def foreign_checkpoints_folder(tmp, runs):
    a = copy_of(runs["A"], tmp / "a")
    with unchanged(a): return refused(lambda: train_mod.train(cfg(a, 3, str(runs["B"] / "checkpoints"))))


def older_checkpoint_of_same_run(tmp, runs):
    a = copy_of(runs["A"], tmp / "a")
    with unchanged(a): return refused(lambda: train_mod.train(cfg(a, 3, str(a / CK.format(1)))))


def fresh_start_over_run_without_checkpoint(tmp, runs):
    a = copy_of(runs["A"], tmp / "a")
    shutil.rmtree(a / "checkpoints")                           # a run killed before its first checkpoint
    with unchanged(a): return refused(lambda: train_mod.train(cfg(a, 2)))


HOLDER = """
import sys, torch
torch.set_num_threads(1)
from deepfovea_nb.config import make_config
from deepfovea_nb.train import train
train(make_config("tiny", {"train": {"out_dir": sys.argv[1], "steps": 400, "resume": "auto"}}), progress=False)
"""


def second_process(tmp, runs):
    a = copy_of(runs["A"], tmp / "a")
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(a)], cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 300
        while not any(r["step"] >= 2 for r in map(json.loads, (a / "log.jsonl").read_text().splitlines())):
            assert child.poll() is None and time.time() < deadline, child.stderr.read()[-3000:]
            time.sleep(0.2)
        msg = refused(lambda: train_mod.train(cfg(a, 4, "auto")))
        assert f"(pid {child.pid} on" in msg, msg
        return msg
    finally:
        child.kill(); child.wait()


JUNK = b"PK\x03\x04 not really a checkpoint"


def unreadable_file_in_retention_while_training(tmp, runs):
    a = copy_of(runs["A"], tmp / "a")
    (a / "checkpoints" / "ckpt_99999999.pt").write_bytes(JUNK)
    said = run_quietly(cfg(a, 3, "auto", keep_last=1))
    test = load_checkpoint(a / "checkpoints")
    assert test["step"] == 3, test["step"]
    assert (a / "checkpoints" / "ckpt_99999999.pt").read_bytes() == JUNK        # not ours to delete
    return said


def retention(keep_last):
    def row(tmp, runs):
        (tmp / "ckpt_99999999.pt").write_bytes(JUNK)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            for s in (1, 2, 3): save_checkpoint({"step": s, "config": {}}, tmp, s, keep_last=keep_last)
        kept = [p.name for p in list_checkpoints(tmp)]
        assert kept == [f"ckpt_{s:08d}.pt" for s in range(4 - keep_last, 4)] + ["ckpt_99999999.pt"], kept
        assert load_checkpoint(tmp)["step"] == 3
        return "\n".join(str(x.message) for x in w)
    return row


KILL = """
import io, os, signal, sys, torch
from deepfovea_nb.checkpoint import atomic_save
class KilledAfter1MB(io.FileIO):             # SIGKILL in the middle of writing a 4 MB checkpoint
    n = 0
    def write(self, b):
        KilledAfter1MB.n += super().write(b)
        if KilledAfter1MB.n > 1_000_000: os.kill(os.getpid(), signal.SIGKILL)
        return len(b)
os.fdopen = lambda fd, *a, **k: io.BufferedWriter(KilledAfter1MB(fd, "wb"))
atomic_save({"w": torch.zeros(1_000_000)}, sys.argv[1])
"""


def stale_temporary_after_kill(tmp, runs):
    a = copy_of(runs["A"], tmp / "a")
    r = subprocess.run([sys.executable, "-c", KILL, str(a / CK.format(3))], cwd=ROOT, capture_output=True)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    tmps = list((a / "checkpoints").glob("*.tmp"))
    assert len(tmps) == 1 and tmps[0].stat().st_size > 500_000, tmps
    (a / "notes.tmp").write_text("the user's")
    said = run_quietly(cfg(a, 3, "auto"))
    assert not list((a / "checkpoints").glob("*.tmp")), "the stale temporary is still there"
    assert (a / "notes.tmp").read_text() == "the user's"
    return said


class FullDisk(io.FileIO):
    def write(self, b): raise OSError(errno.ENOSPC, "No space left on device")


def disk_full_during_checkpoint(tmp, runs):
    a = copy_of(runs["A"], tmp / "a")
    real = os.fdopen

    def fdopen(fd, *args, **kw):
        if "/ckpt_" in os.readlink(f"/proc/self/fd/{fd}"): return io.BufferedWriter(FullDisk(fd, "wb"), 64)
        return real(fd, *args, **kw)
    with mock.patch("os.fdopen", fdopen): msg = refused(lambda: train_mod.train(cfg(a, 3, "auto"), progress=False))
    assert not list((a / "checkpoints").glob("*.tmp"))
    assert load_checkpoint(a / "checkpoints")["step"] == 2
    return msg


def nan_loss_from(step):
    orig = train_mod.train_step

    def step_fn(run, batch):
        if run.step < step: return orig(run, batch)
        fwd = run.objective.forward

        def nan_fwd(*a, **k):
            total, parts = fwd(*a, **k)
            return total * float("nan"), parts
        with mock.patch.object(run.objective, "forward", nan_fwd): return orig(run, batch)
    return step_fn


def diverging_loss_keeps_good_state(tmp, runs):
    out = tmp / "run"
    with mock.patch.object(train_mod, "train_step", nan_loss_from(1)):
        msg = refused(lambda: train_mod.train(cfg(out, 8, max_nonfinite=2, ckpt_every=6), progress=False))
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["ckpt_00000003.pt"]
    ck = load_checkpoint(out / "checkpoints")     # step 0 good, 1-2 not: no checkpoint yet, so one is saved
    assert ck["guard"]["in_row"] == 0 and ck["guard"]["skipped"] == 2, ck["guard"]
    assert all(bool(torch.isfinite(v).all()) for v in ck["G"].values())
    return msg


def nan_weights_from(step):
    orig = train_mod.train_step

    def step_fn(run, batch):
        if run.step == step:
            with torch.no_grad():
                for p in run.G.parameters(): p.fill_(float("nan"))    # what a blown-up update leaves
        return orig(run, batch)
    return step_fn


def diverged_weights_keep_last_good_checkpoint(tmp, runs):
    out = tmp / "run"
    with mock.patch.object(train_mod, "train_step", nan_weights_from(1)):
        msg = refused(lambda: train_mod.train(cfg(out, 8, max_nonfinite=2, ckpt_every=1, sample_every=1),
                                              progress=False))
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["ckpt_00000001.pt"]
    assert all(bool(torch.isfinite(v).all()) for v in load_checkpoint(out / "checkpoints")["G"].values())
    rows = {r["step"]: r for r in map(json.loads, (out / "log.jsonl").read_text().splitlines())}
    assert math.isnan(rows[1]["val_psnr"]) and rows[1]["val_nonfinite"] > 0, rows[1]
    assert rows[1]["state_restarts"] >= 1 and math.isfinite(rows[0]["val_psnr"]), rows
    return msg


def _demo():
    spec = importlib.util.spec_from_file_location("demo_under_test", ROOT / "tools" / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    return demo


def demo_call(out: Path, *flags: str, clip: Path | None = None) -> tuple[str, list]:
    "tools/demo.py's main with papermill stubbed out: (what it said, the papermill calls it made)."
    demo, calls = _demo(), []

    def papermill(nb, out, **params):
        calls.append((nb, params))
        raise RuntimeError("papermill reached")
    buf = io.StringIO()
    argv = ["--out", str(out), *flags] + (["--clip", str(clip)] if clip else [])
    with mock.patch.object(demo, "_papermill", papermill), contextlib.redirect_stderr(buf):
        try: rc = demo.main(argv)
        except SystemExit as e: rc = e.code
        except RuntimeError as e: rc = str(e)
    return f"{rc}: {buf.getvalue()}", calls


def demo_foreign_out(tmp, runs):
    x = tmp / "thesis"; x.mkdir(); (x / "chapter1.tex").write_text("mine")
    copy_of(runs["A"], x / "train")
    with unchanged(x): said, calls = demo_call(x)
    assert not calls
    return said


def demo_previous_run_without_flag(tmp, runs):
    x = tmp / "demo"; x.mkdir(); (x / "demo.json").write_text("{}")
    copy_of(runs["A"], x / "train")
    with unchanged(x): said, calls = demo_call(x)
    assert not calls
    return said


def demo_overwrite_refuses_a_run_it_did_not_make(tmp, runs):
    x = tmp / "demo"; x.mkdir(); (x / "demo.json").write_text("{}")
    copy_of(runs["A"], x / "train")
    with unchanged(x): said, calls = demo_call(x, "--overwrite")
    assert not calls
    return said


def demo_overwrite_replaces_its_own_run(tmp, runs):
    x = tmp / "demo"; x.mkdir(); (x / "demo.json").write_text("{}")
    t = copy_of(runs["A"], x / "train")
    info = json.loads((t / "run.json").read_text()); info["made_by"] = "tools/demo.py"
    (t / "run.json").write_text(json.dumps(info))
    clip = tmp / "my clip's \"best\".mp4"; clip.write_bytes(b"")
    said, calls = demo_call(x, "--overwrite", clip=clip)
    assert not t.exists() and calls and calls[0][1]["clip"] == str(clip.resolve()), (said, calls)
    return said


def make_demo_clip_with_spaces_and_quotes(tmp, runs):
    if shutil.which("make") is None: pytest.skip("make is not installed")
    dump = tmp / "dump.py"
    dump.write_text("import sys, json\nprint('ARGV=' + json.dumps(sys.argv[1:]))\n")
    clip = "my clips/it's \"q\" $HOME `id` $$x.mp4"
    r = subprocess.run(["make", "-s", "-o", "venv", "demo", f"CLIP={clip}", f"PY={sys.executable} {dump}"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    argv = next((json.loads(line[5:]) for line in r.stdout.splitlines() if line.startswith("ARGV=")), None)
    assert argv is not None and argv[-2:] == ["--clip", clip], (argv, r.stdout, r.stderr)
    return r.stdout


@dataclass
class Case:
    act: Callable          # (tmp, runs) -> what was said (error message, warnings, output)
    expect: str            # a fragment of it
    head: str              # how the code before the fix fails this row


CASES = {
    "foreign checkpoint into a folder with a run": Case(
        foreign_checkpoint, "fork it into a new folder",
        "resumed B's checkpoint into A's folder: wrote ckpt_3 there, cut log.jsonl, rewrote run.json; no error"),
    "foreign checkpoints folder into a folder with a run": Case(
        foreign_checkpoints_folder, "belongs to run",
        "same as above, from B's checkpoints/ folder"),
    "older checkpoint of the folder's own run": Case(
        older_checkpoint_of_same_run, "which has later checkpoints",
        "resumed at step 1: overwrote ckpt_2, wrote ckpt_3, cut the log; no error"),
    "fresh start over a run that has no checkpoint yet": Case(
        fresh_start_over_run_without_checkpoint, "pass resume='auto' to continue it",
        "only checked checkpoints/: emptied log.jsonl and rewrote run.json"),
    "a second process while one trains": Case(
        second_process, "is in use by another training process",
        "no lock: the second run trained into the folder, interleaving logs and checkpoints; no error"),
    "unreadable ckpt_*.pt during a run with keep_last=1": Case(
        unreadable_file_in_retention_while_training, "left in place and not counted for keep_last",
        "the junk counted as the newest: ckpt_1..3 all deleted, the next resume finds nothing"),
    "retention with an unreadable file, keep_last=1": Case(
        retention(1), "do not load", "deleted every good checkpoint right after writing it"),
    "retention with an unreadable file, keep_last=2": Case(
        retention(2), "do not load", "kept one good checkpoint instead of two"),
    "stale temporary from a kill during a save": Case(
        stale_temporary_after_kill, "temporary file(s) an interrupted save left",
        "nothing cleaned temporaries: the multi-MB *.tmp stayed forever"),
    "disk full while writing a checkpoint": Case(
        disk_full_during_checkpoint, "disk full while writing {a}/checkpoints/ckpt_00000003.pt; "
                                     "the previous checkpoint {a}/checkpoints/ckpt_00000002.pt is intact",
        "a bare '[Errno 28] No space left on device' (on a real disk: torch's 'unexpected pos'), no path"),
    "diverging loss (weights still finite)": Case(
        diverging_loss_keeps_good_state, "non-finite loss for 2 steps: lower the learning rate (or check the "
                                         "data for NaNs, or use precision='fp32'); steps 1-2 were skipped, 2 in all; "
                                         "the last good state was saved as {out}/checkpoints/ckpt_00000003.pt",
        "never stopped: the finite critic loss reset the guard's streak every step"),
    "diverged weights (NaN prediction, NaN state)": Case(
        diverged_weights_keep_last_good_checkpoint,
        "the last good checkpoint {out}/checkpoints/ckpt_00000001.pt (step 1) is kept",
        "saved a checkpoint of NaN weights as the newest; no val count/state restart; other message"),
    "demo --out into a folder it did not write": Case(
        demo_foreign_out, "was not written by tools/demo.py", "deleted X/train without asking"),
    "demo over a previous run without a flag": Case(
        demo_previous_run_without_flag, "pass --resume to continue it, --overwrite to replace it",
        "deleted X/train without asking"),
    "demo --overwrite over a run it did not make": Case(
        demo_overwrite_refuses_a_run_it_did_not_make, "tools/demo.py did not make",
        "no --overwrite flag (argparse error); without it: deleted"),
    "demo --overwrite over its own previous run": Case(
        demo_overwrite_replaces_its_own_run, "papermill reached", "no --overwrite flag (argparse error)"),
    "make demo CLIP with spaces, quotes and $": Case(
        make_demo_clip_with_spaces_and_quotes, "ARGV=", "the clip was pasted into the shell line: split, expanded"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_run_safety(name, runs, tmp_path):
    case = CASES[name]
    said = case.act(tmp_path, runs)
    want = case.expect.format(a=tmp_path / "a", out=tmp_path / "run")
    assert want in said, f"{name}: expected {want!r} in:\n{said[-3000:]}"
