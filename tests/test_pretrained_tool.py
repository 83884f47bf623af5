"""tools/pretrained.py: a fork's history starts at step 0 (the base run's log up to the fork), hours add up."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("pretrained_tool", ROOT / "tools" / "pretrained.py")
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)


def _run(folder: Path, run_id: str, steps: range, val_windows: int | None, parent: dict | None = None) -> dict:
    folder.mkdir(parents=True)
    train = {"steps": steps.stop} | ({} if val_windows is None else {"val_windows": val_windows})
    info = {"run_id": run_id, "parent": parent, "created": "2026-11-28 00:00:00",
            "config": {"train": train, "data": {"max_frames": 150}}}   # as the cpu presets
    (folder / "run.json").write_text(json.dumps(info))
    rows = [{"step": s, "sec": 1.0, "g_total": float(s), "val_psnr": 20.0} for s in steps]
    (folder / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return info


def test_fork_history(tmp_path):
    "Three runs, each forked from the previous one: one log from step 0; val_psnr kept where the windows agree."
    _run(tmp_path / "base", "b", range(0, 30), None)            # the base logged 10 steps past the fork point
    _run(tmp_path / "mid", "m", range(20, 50), 8, {"run_id": "b", "checkpoint": "x", "step": 20})
    info = _run(tmp_path / "run", "r", range(45, 60), 8, {"run_id": "m", "checkpoint": "y", "step": 45})
    log, hours, infos = tool.history(tmp_path / "run", info, [tmp_path / "base", tmp_path / "mid"])
    assert [r["step"] for r in log] == list(range(60)) and [i["run_id"] for i in infos] == ["b", "m"]
    assert not any("val_psnr" in r for r in log[:20]) and all("val_psnr" in r for r in log[20:])   # 1 vs 8 windows
    assert hours > 0
    alone, _, none = tool.history(tmp_path / "run", info, [])
    assert [r["step"] for r in alone] == list(range(45, 60)) and none == []
    two, _, infos = tool.history(tmp_path / "mid", json.loads((tmp_path / "mid" / "run.json").read_text()),
                                 [tmp_path / "base"])
    assert [r["step"] for r in two] == list(range(50)) and [i["run_id"] for i in infos] == ["b"]
    other = _run(tmp_path / "run2", "r2", range(20, 40), 8, {"run_id": "zzz", "checkpoint": "x", "step": 20})
    with pytest.raises(SystemExit, match="forked from run zzz"):
        tool.history(tmp_path / "run2", other, [tmp_path / "base", tmp_path / "mid"])


def test_val_on_other_frames_is_another_curve(tmp_path):
    "A fork validating on other frames of the clips (`data.max_frames`) does not join its parent's val_psnr curve."
    _run(tmp_path / "base", "b", range(0, 30), 8)
    info = _run(tmp_path / "all", "a", range(20, 40), 8, {"run_id": "b", "checkpoint": "x", "step": 20})
    info["config"]["data"] = {"max_frames": None}
    log, _, _ = tool.history(tmp_path / "all", info, [tmp_path / "base"])
    assert not any("val_psnr" in r for r in log[:20]) and all("val_psnr" in r for r in log[20:])
    assert tool.val_measure(info) == "8 window(s) of every frame"
    assert tool.val_measure({"config": {"train": {}}}) == "1 window(s) of every frame"   # the configs' defaults


def test_train_fork_starts_or_continues(tmp_path, monkeypatch):
    "A stage forks the previous run's newest checkpoint into a folder without checkpoints, else continues it."
    calls = []
    monkeypatch.setattr(tool.subprocess, "run", lambda cmd, check: calls.append(cmd))
    run, base = tmp_path / "run", tmp_path / "base"
    _run(run, "r", range(20, 40), 8, {"run_id": "b", "checkpoint": "x", "step": 20})   # a clone's committed record
    tool.train_fork(run, base, "cpu_wide")
    assert calls[-1][-6:] == ["--preset", "cpu_wide", "--out", str(run), "--resume", str(base / "checkpoints")]
    assert not (run / "run.json").exists() and not (run / "log.jsonl").exists()       # the fork rewrites them
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "ckpt_00000030.pt").write_bytes(b"")
    tool.train_fork(run, base, "cpu_wide")
    assert calls[-1][-1] == "auto"


def test_fork_from_model(tmp_path, monkeypatch):
    "A `FROM_MODEL` stage starts from the parent run's generator as it ships, exported to its model.pt first."
    import torch
    from deepfovea_nb.checkpoint import save_checkpoint
    calls = []
    monkeypatch.setattr(tool.subprocess, "run", lambda cmd, check: calls.append(cmd))
    parent, run = tmp_path / "parent", tmp_path / "run"
    weights = {"w": torch.ones(2)}
    save_checkpoint({"step": 7, "run_id": "p", "config": {}, "G": weights, "G_ema": {"w": torch.zeros(2)}},
                    parent / "checkpoints", 7)
    tool.train_fork(run, parent, "cpu_ema")
    assert calls[-1][-2:] == ["--resume", str(parent / "model.pt")]
    shipped = torch.load(parent / "model.pt", weights_only=True)
    assert shipped["ema"] and torch.equal(shipped["G"]["w"], torch.zeros(2)) and shipped["step"] == 7
    assert tool.start_from(parent, "cpu_keep") == parent / "checkpoints"


def test_train_stages_in_order(tmp_path, monkeypatch):
    "make pretrained: the first stage continues in its folder, each next one forks the previous one's folder."
    calls = []
    monkeypatch.setattr(tool.subprocess, "run", lambda cmd, check: calls.append(cmd))
    tool.train_stages(tmp_path)
    folders = [tmp_path / d for _, d, _ in tool.STAGES]
    assert [c[c.index("--preset") + 1] for c in calls] == [p for p, _, _ in tool.STAGES]
    assert [c[c.index("--out") + 1] for c in calls] == [str(f) for f in folders]
    assert [c[-1] for c in calls] == ["auto"] + [str(tool.start_from(f, p)) for f, (p, _, _) in
                                                 zip(folders[:-1], tool.STAGES[1:])]


def test_hours_from_stopped(tmp_path, capsys):
    "Hours run to run.json's `stopped` time when it is there (a clone keeps it), else to the log's mtime, said so."
    info = _run(tmp_path / "a", "a", range(0, 3), 8)
    assert tool._hours(tmp_path / "a", {**info, "stopped": "2026-11-28 02:30:00"}) == pytest.approx(2.5)
    assert capsys.readouterr().out == ""
    tool._hours(tmp_path / "a", info)
    assert "has no 'stopped' time" in capsys.readouterr().out


def test_ancestors_follow_the_parents(tmp_path):
    "A run's earlier runs are found by their ids, whatever the order or the other folders given."
    _run(tmp_path / "base", "b", range(0, 30), None)
    _run(tmp_path / "mid", "m", range(20, 50), 8, {"run_id": "b", "checkpoint": "x", "step": 20})
    _run(tmp_path / "side", "s", range(20, 40), 8, {"run_id": "b", "checkpoint": "x", "step": 20})
    info = _run(tmp_path / "run", "r", range(45, 60), 8, {"run_id": "m", "checkpoint": "y", "step": 45})
    folders = [tmp_path / d for d in ("run", "side", "mid", "base", "missing")]
    assert tool.ancestors(info, folders) == [tmp_path / "base", tmp_path / "mid"]
    assert tool.ancestors(json.loads((tmp_path / "base" / "run.json").read_text()), folders) == []


def test_model_facts(tmp_path):
    "Size, step and whether it is a weight average: from model.pt, else from the packaged summary.json (a clone)."
    import torch
    run = tmp_path / "run"
    run.mkdir()
    torch.save({"step": 12, "ema": True, "config": {"optim": {"ema": 0.999}}, "G": {}}, run / "model.pt")
    mb, step, avg = tool.model_facts(run)
    assert (step, avg) == (12, " (the average of its weights, `optim.ema` 0.999)") and mb > 0
    torch.save({"step": 12, "ema": False, "config": {"optim": {"ema": 0.999}}, "G": {}}, run / "model.pt")
    assert tool.model_facts(run)[2] == ""                 # exported with ema=False: the trained weights
    (run / "model.pt").unlink()
    (run / "summary.json").write_text(json.dumps({"model_mb": 9.2, "steps": 30}))
    (run / "run.json").write_text(json.dumps({"config": {"optim": {}}}))
    assert tool.model_facts(run) == (9.2, 30, "")


def test_soup_averages_the_listed_runs(tmp_path, monkeypatch):
    "--soup writes the average of the SOUP runs' generators and evaluates that file on VAL_FRAMES frames per clip."
    import torch

    import deepfovea_nb.evaluate as evaluate
    from deepfovea_nb.checkpoint import build_generator, export_generator, load_generator, save_checkpoint
    from deepfovea_nb.config import config_to_dict, make_config
    cfg = make_config("tiny")
    gens = {}
    for n, (p, d) in enumerate((("cpu_a", "run_a"), ("cpu_b", "run_b"))):
        G = build_generator(cfg)
        save_checkpoint({"step": 10 * (n + 1), "run_id": d, "config": config_to_dict(cfg), "G": G.state_dict()},
                        tmp_path / d / "checkpoints", 10 * (n + 1))
        export_generator(tmp_path / d, tmp_path / d / "model.pt")
        gens[p] = G.state_dict()
    monkeypatch.setattr(tool, "SOUP", ("cpu_a", "cpu_b"))
    monkeypatch.setattr(tool, "RUNS", {"run_a": "cpu_a", "run_b": "cpu_b"})
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    shipped = json.loads((ROOT / "results" / "pretrained" / "eval" / "metrics.json").read_text())
    calls = []
    monkeypatch.setattr(evaluate, "evaluate_run", lambda model, **kw: (calls.append((model, kw)), (shipped, []))[1])
    assert tool.soup(tmp_path, 8, "cpu", reuse_eval=False) == 0
    out = tmp_path / "pretrained_soup"
    got = load_generator(out / "model.pt")[0].state_dict()
    assert all(torch.allclose(got[k], (gens["cpu_a"][k] + gens["cpu_b"][k]) / 2) for k in got)
    assert calls[0][0] == out / "model.pt" and calls[0][1]["max_frames"] == tool.VAL_FRAMES
    sm = json.loads((out / "summary.json").read_text())
    assert [p["run_id"] for p in sm["averaged"]] == ["run_a", "run_b"]
    text = (out / "README.md").read_text()
    assert "`cpu_a` (`run_a/model.pt`, step 10" in text and "`cpu_b` (`run_b/model.pt`, step 20" in text
    (tmp_path / "run_b" / "model.pt").unlink()
    with pytest.raises(SystemExit, match="needs the exported generators"):
        tool.soup(tmp_path, 8, "cpu", reuse_eval=False)
