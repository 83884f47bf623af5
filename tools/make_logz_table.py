"""Regenerate deepfovea_nb/data/logz_table.csv: log Z(alpha) of Barron's robust loss by quadrature on curved knots.

    python tools/make_logz_table.py                 # write the packaged table (about a second)
    python tools/make_logz_table.py --check         # exit 1 if the packaged table differs from a fresh one
    python tools/make_logz_table.py --alpha-max 8 --n-knots 385 --out /tmp/t.csv
"""
import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from deepfovea_nb.robust import load_logz_table, make_logz_table, save_logz_table  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-knots", type=int, default=257)
    ap.add_argument("--alpha-max", type=float, default=4.0)
    ap.add_argument("--out", type=Path, default=ROOT / "deepfovea_nb" / "data" / "logz_table.csv")
    ap.add_argument("--check", action="store_true", help="compare with the existing file instead of writing")
    a = ap.parse_args()
    table = make_logz_table(a.n_knots, a.alpha_max)
    if a.check:
        old = load_logz_table(str(a.out))
        ok = old["alpha_max"] == table["alpha_max"] and all(
            old[k].shape == table[k].shape and np.allclose(old[k], table[k], rtol=0, atol=1e-10)
            for k in ("t", "alpha", "logz", "dlogz_dt"))
        print(("up to date: " if ok else "STALE: ") + str(a.out))
        return 0 if ok else 1
    print(f"wrote {save_logz_table(table, a.out)} ({a.n_knots} knots, alpha in [0, {a.alpha_max}])")
    return 0


if __name__ == "__main__":
    sys.exit(main())
