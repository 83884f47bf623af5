"""Write environment.yml from the pins in settings.ini (the single source): `python tools/sync_env.py`."""
import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    c = configparser.ConfigParser(delimiters=["="])
    c.read(ROOT / "settings.ini")
    cfg = c["DEFAULT"]
    pins = cfg["requirements"].split() + cfg["dev_requirements"].split()
    lines = ["# Generated from settings.ini by `python tools/sync_env.py`; tests check the two agree.",
             "name: deepfovea_nb", "channels:", "  - conda-forge", "dependencies:",
             "  - python=3.11", "  - pip", "  - pip:"] + [f"      - {p}" for p in pins]
    (ROOT / "environment.yml").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
