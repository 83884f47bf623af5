"""Training runs in separate processes: kill-and-resume equals one run (augmented), and 2-process data parallel."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from deepfovea_nb.checkpoint import list_checkpoints, load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCRIPT = """
import sys, torch
torch.set_num_threads(1)
from deepfovea_nb.config import make_config
from deepfovea_nb.train import train
out, steps, resume = sys.argv[1], int(sys.argv[2]), (sys.argv[3] if len(sys.argv) > 3 else None)
over = {"train": {"out_dir": out, "steps": steps, "ckpt_every": 1, "keep_last": 10, "resume": resume},
        "data": {"augment": True}}   # each stream's view (crop, flip) is state a resume must restore
run = train(make_config("tiny", over), progress=False)
if run.world > 1:
    import torch.distributed as dist
    flat = torch.cat([p.detach().flatten() for p in list(run.G.parameters()) + list(run.D.parameters())])
    got = [torch.zeros_like(flat) for _ in range(run.world)]
    dist.all_gather(got, flat)
    assert all(torch.equal(got[0], g) for g in got), "ranks disagree on the weights"
    if run.rank == 0: print("RANKS AGREE")
    dist.destroy_process_group()
"""


def _train(out: Path, steps: int, resume: str | None = None, **kw) -> subprocess.Popen:
    args = [sys.executable, "-c", SCRIPT, str(out), str(steps)] + ([resume] if resume else [])
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_console_scripts_train_and_evaluate(tmp_path):
    """The installed commands run the tiny preset end to end: train, then evaluate the checkpoint it wrote."""
    run = tmp_path / "run"
    r = subprocess.run([str(BIN / "deepfovea-train"), "--preset", "tiny", "--out", str(run), "--steps", "1",
                        "--set", "generator.norm=channel"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([str(BIN / "deepfovea-evaluate"), str(run), "--out", str(tmp_path / "report"),
                        "--windows", "1"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "| model |" in (tmp_path / "report" / "metrics.md").read_text()
    bad = subprocess.run([str(BIN / "deepfovea-train"), "--preset", "tiny", "--set", "steps=3"], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "malformed --set item 'steps=3'" in bad.stderr, bad.stderr[-2000:]


def _weights(out: Path) -> dict:
    ck = load_checkpoint(out / "checkpoints")
    nets = {f"{net}.{k}": v for net in ("G", "D", "D_fft", "objective") for k, v in ck[net].items()}
    return nets | {"step": ck["step"]}


def test_kill_and_resume_gives_the_same_weights(tmp_path):
    k = 2
    straight = _train(tmp_path / "straight", 2 * k)
    killed = _train(tmp_path / "killed", 2 * k)
    deadline = time.time() + 600
    done = lambda: any(int(p.stem.split("_")[1]) >= k for p in list_checkpoints(tmp_path / "killed/checkpoints"))
    while time.time() < deadline and not done():
        assert killed.poll() is None, killed.communicate()[1][-3000:]
        time.sleep(0.1)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    at = load_checkpoint(tmp_path / "killed/checkpoints")["step"]
    assert k <= at < 2 * k, f"kill came too late (checkpoint at step {at})"
    resumed = _train(tmp_path / "killed", 2 * k, "auto")
    for p in (straight, resumed):
        _, err = p.communicate(timeout=900)
        assert p.returncode == 0, err[-3000:]
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "killed")
    assert a["step"] == b["step"] == 2 * k
    diff = [n for n in a if n != "step" and not torch.equal(a[n], b[n])]
    assert not diff, f"resumed run differs in {diff[:5]}"


def test_two_process_data_parallel_gloo(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [str(BIN / "torchrun"), "--standalone", "--nproc_per_node", "2", "--no-python", sys.executable, "-c",
           SCRIPT, str(tmp_path / "ddp"), "2"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, env=env, check=False)
    assert r.returncode == 0, r.stderr[-4000:]
    assert "RANKS AGREE" in r.stdout
    ck = load_checkpoint(tmp_path / "ddp/checkpoints")
    assert ck["step"] == 2 and len(ck["ranks"]) == 2 and ck["config"]["data"]["batch_size"] == 1
    masks = [r["rng"]["gens"]["mask"] for r in ck["ranks"]]
    assert masks[0].ne(masks[1]).any(), "ranks must draw different masks"


NAN_ON_RANK1 = """
import sys, torch
torch.set_num_threads(1)
import deepfovea_nb.train as T
from deepfovea_nb.config import make_config
out, resume = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
orig = T.train_step
def step(run, batch):                       # a corrupt window on rank 1 only, at step 1
    if run.rank == 1 and run.step == 1: batch = dict(batch, input=batch["input"] * float("nan"))
    return orig(run, batch)
T.train_step = step
run = T.train(make_config("tiny", {"train": {"out_dir": out, "steps": 3, "ckpt_every": 3, "resume": resume}}),
              progress=False)
import torch.distributed as dist
flat = torch.cat([p.detach().flatten() for p in run.G.parameters()])
got = [torch.zeros_like(flat) for _ in range(run.world)]
dist.all_gather(got, flat)
assert all(torch.equal(got[0], g) for g in got), "ranks disagree on the weights"
if run.rank == 0: print("RANKS AGREE", run.guard.skipped)
dist.destroy_process_group()
"""


def test_two_process_nonfinite_and_refusal(tmp_path):
    """A NaN on one rank is skipped by all (a lone skip would hang the others' all-reduce); a refused start
    stops every rank with rank 0's reason instead of hanging them."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [str(BIN / "torchrun"), "--standalone", "--nproc_per_node", "2", "--no-python", sys.executable, "-c",
           NAN_ON_RANK1, str(tmp_path / "ddp")]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env, check=False)
    assert r.returncode == 0, r.stderr[-4000:]
    assert "RANKS AGREE 1" in r.stdout, r.stdout[-2000:]
    assert load_checkpoint(tmp_path / "ddp/checkpoints")["guard"]["skipped"] == 1
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env, check=False)
    assert r.returncode != 0 and "pass resume='auto' to continue it" in r.stderr, r.stderr[-4000:]
    assert "rank 0 could not start the run" in r.stderr, r.stderr[-4000:]
