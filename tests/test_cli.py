"""Stage scripts' shared entry point: exit codes, flushed output, one-line user errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import logging, sys
    from pathlib import Path
    from credit_scoring.cli import run_stage

    def main():
        print("stdout line", end="")          # no newline: only a flush gets it out
        logging.getLogger("stage").info("progress line")
        Path(sys.argv[1]).write_text("done")
        if sys.argv[2] == "missing":
            raise FileNotFoundError("data/processed/train.parquet: missing")

    run_stage(main)
    print("never printed: run_stage exits")
    """
)


def run_script(tmp_path: Path, mode: str) -> subprocess.CompletedProcess:
    script = tmp_path / "stage.py"
    script.write_text(SCRIPT)
    return subprocess.run(
        [sys.executable, str(script), str(tmp_path / "out.txt"), mode],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_finished_stage_exits_zero_with_its_output_flushed(tmp_path):
    result = run_script(tmp_path, "ok")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "stdout line"
    assert "INFO stage: progress line" in result.stderr
    assert (tmp_path / "out.txt").read_text() == "done"


def test_a_user_error_is_one_line_and_exit_one(tmp_path):
    result = run_script(tmp_path, "missing")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "stage stage failed: data/processed/train.parquet: missing"
    )
    assert "Traceback" not in result.stderr
