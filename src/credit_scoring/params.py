"""Compose Hydra's ``conf/`` into the ``params.yaml`` that DVC tracks and the stages read.

``dvc exp run`` does this itself (``hydra.enabled`` in ``.dvc/config``); ``dvc repro`` never does,
so the composed file is committed and a test checks that it still matches ``conf/``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf


def compose_params(
    config_dir: Path | str = "conf",
    overrides: list[str] | None = None,
    config_name: str = "config",
) -> dict[str, Any]:
    """Compose ``conf/`` with Hydra overrides into a plain, fully resolved dict.

    Args:
        config_dir: Hydra config folder.
        overrides: Hydra overrides, e.g. ``["data=home_credit", "experiment=tiny"]``.
        config_name: primary config file name (without .yaml).

    Returns:
        The resolved parameters, as DVC writes them to params.yaml.
    """
    with initialize_config_dir(config_dir=str(Path(config_dir).resolve()), version_base=None):
        cfg = compose(config_name=config_name, overrides=list(overrides or []))
    return OmegaConf.to_container(cfg, resolve=True)


def write_params(params: dict[str, Any], path: Path | str = "params.yaml") -> None:
    """Write composed parameters as YAML, keeping the composed key order."""
    header = "# Generated from conf/ by `credit-scoring-compose`: edit conf/, not this file.\n"
    body = yaml.safe_dump(params, sort_keys=False, default_flow_style=False)
    Path(path).write_text(header + body, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """CLI: ``credit-scoring-compose [hydra overrides...] [--out params.yaml]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. data=home_credit")
    parser.add_argument("--config-dir", default="conf")
    parser.add_argument("--out", default="params.yaml")
    args = parser.parse_args(argv)
    write_params(compose_params(args.config_dir, args.overrides), args.out)
    print(f"wrote {args.out} from {args.config_dir}/ {' '.join(args.overrides)}".rstrip())


if __name__ == "__main__":
    main()
