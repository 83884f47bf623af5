"""Train from the command line (also under torchrun): the same `train(make_config(...))` the 05_train notebook runs.

  python tools/train.py --preset demo --data path/to/video_or_frames --out results/myrun
  torchrun --standalone --nproc_per_node 4 tools/train.py --preset seed --data /data/REDS --out results/reds \
      --set batch_size=2 --set precision=bf16
"""
import argparse
import ast
import sys


def _value(text: str):
    try: return ast.literal_eval(text)
    except (ValueError, SyntaxError): return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="demo", help="tiny | demo | seed")
    ap.add_argument("--data", default=None, help="video file, folder of frames or REDS root (default: the demo clip)")
    ap.add_argument("--out", default=None, help="output folder (checkpoints, logs, samples)")
    ap.add_argument("--resume", default=None, help="'auto', a checkpoint file or a folder")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="any TrainConfig field, repeatable")
    args = ap.parse_args(argv)
    from deepfovea_nb.train import make_config, train
    over = dict(kv.split("=", 1) for kv in args.set)
    cfg = make_config(args.preset, data=args.data, out_dir=args.out, resume=args.resume, **{k: _value(v) for k, v in over.items()})
    run = train(cfg)
    if run.rank == 0: print(f"trained to step {run.step}; checkpoints in {cfg.out_dir}/checkpoints")
    return 0


if __name__ == "__main__":
    sys.exit(main())
