"""The evidence pack of a release: one self-contained HTML page (and its JSON) for a model-risk
reviewer or a regulator, read offline.

``credit-scoring-evidence REV`` reads everything from git at ``REV`` (a release tag or a commit):
the release record, the model card, the metrics, plots and reports the pipeline committed, and
shapes them like the technical documentation of a high-risk AI system (EU AI Act Annex IV) and a
model documentation in the SR 11-7 sense: intended purpose and users, data sources (hashes, rows,
quality findings), features, model design, performance with intervals and the cost curve,
calibration, fairness, drift, human oversight, the decision log, the audit verdict, lineage and
the numeric environment. Figures are embedded (base64), so the page needs no other file.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import html
import io
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt

from credit_scoring.api.decision_log import decisions, read_decisions, read_overrides
from credit_scoring.cli import setup_logging, write_json
from credit_scoring.governance.audit_checks import OK
from credit_scoring.governance.record import ReleaseError, git, resolve_commit
from credit_scoring.monitoring.overrides import override_summary

logger = logging.getLogger(__name__)

FIGURES = {
    "cost curve (business score per threshold)": "reports/figures/cost_curves.png",
    "reliability diagram": "reports/figures/calibration.png",
    "ROC curves": "reports/figures/roc.png",
    "fairness per group": "reports/fairness/fairness.png",
    "SHAP global importance": "reports/shap/global_importance.png",
}
STYLE = """
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{border-bottom:3px solid #234}h2{border-bottom:1px solid #bbb;margin-top:2.2rem}
table{border-collapse:collapse;margin:.6rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;
text-align:left;font-size:.9rem}th{background:#eef}code,pre{background:#f6f6f6;font-size:.85rem}
pre{padding:.6rem;overflow-x:auto}img{max-width:100%;border:1px solid #ddd}
.verdict{font-weight:bold;font-size:1.2rem}.note{color:#555;font-size:.9rem}
"""


class Revision:
    """Files of a git revision, read with ``git show`` (absent files give None)."""

    def __init__(self, repo: Path, rev: str) -> None:
        self.repo, self.rev = Path(repo).resolve(), rev
        self.commit = resolve_commit(self.repo, rev)

    def read(self, path: str) -> bytes | None:
        result = subprocess.run(
            ["git", "show", f"{self.commit}:{path}"], cwd=self.repo, capture_output=True
        )
        return result.stdout if result.returncode == 0 else None

    def text(self, path: str) -> str | None:
        data = self.read(path)
        return data.decode("utf-8") if data is not None else None

    def json(self, path: str) -> Any:
        text = self.text(path)
        return json.loads(text) if text is not None else None

    def csv(self, path: str) -> list[dict[str, str]]:
        text = self.text(path)
        return list(csv.DictReader(io.StringIO(text))) if text else []


def release_record(revision: Revision) -> tuple[dict[str, Any] | None, str | None]:
    """The release record of the revision: ``releases/<rev>.json`` or that of a tag on it."""
    tags = [revision.rev, *git(revision.repo, "tag", "--points-at", revision.commit).split()]
    for tag in tags:
        record = revision.json(f"releases/{tag}.json")
        if record is not None:
            return record, tag
    return None, None


def collect(revision: Revision, audit_result: Any = None, decision_log: str | None = None) -> dict:
    """Everything the pack shows, as plain data (the JSON of the pack)."""
    record, tag = release_record(revision)
    params = yaml.safe_load(revision.text("params.yaml") or "{}") or {}
    lock = revision.read("dvc.lock")
    registry = (record or {}).get("registry") or revision.json("reports/registry.json") or {}
    features = json.loads(registry.get("tags", {}).get("features", "[]") or "[]")
    pack = {
        "revision": revision.rev,
        "commit": revision.commit,
        "release": tag,
        "record": {k: record.get(k) for k in ("format", "created_at", "message")}
        if record
        else None,
        "lineage": {
            "git_commit": revision.commit,
            "dvc_lock_sha256": _sha256(lock) if lock else None,
            "registry": {
                k: registry.get(k) for k in ("model_name", "version", "run_id", "model_uri")
            },
            "mlflow_runs": revision.json("reports/mlflow_runs.json"),
        },
        "data": {
            "manifest": revision.json("reports/data_manifest.json") or {},
            "quality": revision.json("reports/data_quality.json") or {},
            "findings": revision.csv("reports/data_findings.csv")[:25],
        },
        "features": features,
        "model": {
            "champion": revision.json("reports/champion.json") or {},
            "train": params.get("train", {}),
            "costs": params.get("cost", {}),
        },
        "performance": {
            "metrics": revision.json("reports/metrics.json") or {},
            "families": revision.csv("reports/plots/families.csv"),
        },
        "fairness": revision.json("reports/fairness.json"),
        "drift": {
            "summary": revision.json("reports/drift_metrics.json"),
            "drifted": [
                row
                for row in revision.csv("reports/drift_columns.csv")
                if str(row.get("drifted", "")).lower() in ("true", "1")
            ],
        },
        "decision_log": _decision_log(decision_log),
        "audit": _audit(audit_result),
        "environment": (record or {}).get("environment"),
    }
    return pack


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _decision_log(database_url: str | None) -> dict[str, Any]:
    """The log's schema, and its counts when a database is given."""
    columns = [column.name for column in decisions.columns if column.name != "id"]
    log: dict[str, Any] = {"columns": columns, "database": database_url}
    if database_url:
        logged = read_decisions(database_url)
        log["rows"] = len(logged)
        if len(logged):
            log["by_decision"] = logged["decision"].value_counts().to_dict()
            log["by_model_version"] = logged["model_version"].astype(str).value_counts().to_dict()
            log["first"], log["last"] = (
                str(logged["created_at"].min()),
                str(logged["created_at"].max()),
            )
        summary = override_summary(logged, read_overrides(database_url))
        log["overrides"] = int(summary["overrides"].sum())
        log["overrides_by_version_reason"] = summary.to_dict("records")
    return log


def _audit(result: Any) -> dict[str, Any]:
    if result is None:
        return {"verdict": None, "note": "not audited in this pack: `make audit REV=<tag>`"}
    return {
        "verdict": result.verdict,
        "commit": result.commit,
        "not_ok": [
            {"item": c.item, "status": c.status, "note": c.note}
            for c in result.checks
            if c.status != OK
        ],
    }


def _table(rows: list[dict[str, Any]] | dict[str, Any], columns: list[str] | None = None) -> str:
    """An HTML table of dict rows (or of a mapping's key/value pairs)."""
    if isinstance(rows, dict):
        rows = [{"name": k, "value": v} for k, v in rows.items()]
    if not rows:
        return "<p class='note'>none</p>"
    columns = columns or list(rows[0])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_show(row.get(c)))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _show(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return "" if value is None else str(value)


def render(pack: dict[str, Any], revision: Revision) -> str:
    """The self-contained HTML page of ``pack`` (figures read from ``revision``)."""
    card = revision.text("reports/model_card.md") or "*no model card committed*"
    # The card's headings go under this page's section heading (h3 and below).
    card = "\n".join("##" + line if line.startswith("#") else line for line in card.split("\n"))
    champion = pack["model"]["champion"]
    audit = pack["audit"]
    figures = []
    for caption, path in FIGURES.items():
        data = revision.read(path)
        if data:
            encoded = base64.b64encode(data).decode("ascii")
            figures.append(
                f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{encoded}'>"
                f"<figcaption>{html.escape(caption)} (<code>{path}</code>)</figcaption></figure>"
            )
    tables = pack["data"]["manifest"].items()
    manifest = [{"table": name, **facts} for name, facts in tables if isinstance(facts, dict)]
    source = {k: v for k, v in tables if not isinstance(v, dict)}  # data_hash, source
    log = pack["decision_log"]
    sections = [
        (
            "1. Identification and lineage",
            _table(
                {
                    "revision": pack["revision"],
                    "release tag": pack["release"] or "not a release",
                    "release record": pack["record"],
                    **pack["lineage"],
                }
            ),
        ),  # fmt: skip
        (
            "2. Intended purpose, users, performance, limitations (model card)",
            MarkdownIt("commonmark").enable("table").render(card),
        ),  # fmt: skip
        (
            "3. Data sources",
            _table(source)
            + _table(manifest, ["table", "file", "rows", "columns", "sha256"])
            + "<h3>Data quality</h3>"
            + _table(pack["data"]["quality"])
            + "<h3>Findings (first 25)</h3>"
            + _table(pack["data"]["findings"]),
        ),  # fmt: skip
        (
            "4. Features",
            (
                f"<p>{len(pack['features'])} model inputs (the release's registry tags).</p>"
                if pack["features"]
                else "<p class='note'>not recorded: only a release's registry tags list them</p>"
            )
            + "<pre>"
            + html.escape(", ".join(pack["features"]))
            + "</pre>",
        ),  # fmt: skip
        (
            "5. Model design",
            _table(
                {
                    "champion": champion.get("family"),
                    "threshold": champion.get("threshold"),
                    "costs": pack["model"]["costs"],
                    "selection": champion.get("selection"),
                    "calibration": champion.get("calibration"),
                }
            )
            + "<h3>Training configuration (params.yaml, train)</h3><pre>"
            + html.escape(yaml.safe_dump(pack["model"]["train"], sort_keys=False))
            + "</pre>",
        ),  # fmt: skip
        (
            "6. Performance",
            "<p>Held-out 90% bootstrap intervals: "
            + html.escape(_show(champion.get("intervals")))
            + "</p>"
            + _table(pack["performance"]["families"])
            + "".join(figures[:3]),
        ),  # fmt: skip
        ("7. Fairness", _table(pack["fairness"] or {}) + "".join(figures[3:4])),
        (
            "8. Drift (application_test against training)",
            _table(pack["drift"]["summary"] or {})
            + "<h3>Drifted columns</h3>"
            + _table(pack["drift"]["drifted"]),
        ),  # fmt: skip
        (
            "9. Human oversight and the decision log",
            "<p>Every answer of the scoring API carries the probability, the decision at the "
            "threshold and its SHAP reasons; the credit officer's app shows them and the officer "
            "decides. An officer who overrules a decision records it (officer, new decision, "
            "reason, comment) through the app or <code>POST /decisions/{request_id}/override"
            "</code>; the override is appended beside the decision, never edited into it, and "
            "counted per model version and reason below. Every API decision is logged with its "
            "model version (columns below).</p>"
            + _table({"columns": log["columns"]})
            + _table(
                {
                    k: v
                    for k, v in log.items()
                    if k not in ("columns", "overrides_by_version_reason")
                }
            )
            + (
                "<h3>Overrides per model version, reason and direction</h3>"
                + _table(log["overrides_by_version_reason"])
                if "overrides_by_version_reason" in log
                else ""
            ),
        ),  # fmt: skip
        (
            "10. Audit",
            f"<p class='verdict'>{html.escape(audit['verdict'] or 'not audited')}</p>"
            + (f"<p class='note'>{html.escape(audit['note'])}</p>" if audit.get("note") else "")
            + _table(audit.get("not_ok", [])),
        ),  # fmt: skip
        ("11. Numeric environment of the release", _table(pack["environment"] or {})),
        ("12. Explanations", "".join(figures[4:])),
    ]
    body = "".join(f"<h2>{html.escape(title)}</h2>{content}" for title, content in sections)
    title = f"Evidence pack: {pack['release'] or pack['revision']} ({pack['commit'][:12]})"
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}"
        "</body></html>\n"
    )


def build(
    repo: Path, rev: str, out: Path, *, audit: bool = False, decision_log: str | None = None
) -> tuple[Path, Path]:
    """Write ``<out>/<rev>.html`` and ``<out>/<rev>.json``; return their paths."""
    revision = Revision(repo, rev)
    result = None
    if audit:
        from credit_scoring.governance.audit import audit as run_audit

        result = run_audit(revision.repo, rev)
    pack = collect(revision, result, decision_log)
    out.mkdir(parents=True, exist_ok=True)
    name = rev.replace("/", "_")
    page = out / f"{name}.html"
    page.write_text(render(pack, revision), encoding="utf-8")
    return page, write_json(pack, out / f"{name}.json")


def main(argv: list[str] | None = None) -> None:
    """CLI: ``credit-scoring-evidence REV [--repo .] [--out reports/evidence] [--audit]
    [--decision-log URL]``; exit 2 when REV is unknown."""
    parser = argparse.ArgumentParser(description="Build the evidence pack of a release.")
    parser.add_argument("rev", help="release tag or commit, e.g. model-v1")
    parser.add_argument("--repo", type=Path, default=Path("."), help="project folder")
    parser.add_argument("--out", type=Path, default=Path("reports/evidence"), help="folder")
    parser.add_argument("--audit", action="store_true", help="audit the release first (slow)")
    parser.add_argument("--decision-log", help="decision log database URL, for its counts")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        page, data = build(
            args.repo, args.rev, args.out, audit=args.audit, decision_log=args.decision_log
        )
    except ReleaseError as exc:
        logger.error("%s", exc)
        sys.exit(2)
    print(f"evidence pack: {page} (data: {data})")


if __name__ == "__main__":
    main()
