"""Stage generate: write the synthetic Home Credit data set (the embedded default)."""

from pathlib import Path

from credit_scoring.cli import run_stage
from credit_scoring.config import GenerateConfig, load_params
from credit_scoring.data.synthetic import iter_tables, write_tables


def main() -> None:
    params = load_params()
    config = GenerateConfig(**params["generate"])
    paths = write_tables(iter_tables(config), Path(params["paths"]["synthetic_dir"]))
    print(f"wrote {len(paths)} synthetic tables to {params['paths']['synthetic_dir']}")


if __name__ == "__main__":
    run_stage(main)
