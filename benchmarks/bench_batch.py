"""Where the time of a ``/predict/batch`` goes, in process: each step of the scoring service on
a batch of real production clients of a pipeline run, timed apart (best of R repeats, the VM's
noise being one-sided), with the total per application.

Usage::

    python benchmarks/bench_batch.py --project-root DIR [-n 1000] [--repeats 7]

Steps: decode (msgspec: parse and validate in one pass, as the batch route does), parse (orjson)
and parse and validate (the request models: a body msgspec leaves to them), history
lookup, features (conform and build), warnings, preprocess, probability, SHAP values, reasons
(top-k and their dicts, SHAP values included), the decision (lookup to the answers without their
reasons, and the log rows), the commit of the log rows alone, the whole scoring as the API does it
(decision, then the reasons while the log's writer thread commits, then the wait for that commit),
and writing the answer. Then the same batch through the whole ASGI app in process (FastAPI, its
middlewares, the route's thread; no sockets), as the wall time and as the app's own
``Server-Timing``: what the web stack adds to the steps. Over HTTP: ``bench_api.py``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project-root", type=Path, default=Path("."), help="a pipeline run")
    parser.add_argument("-n", "--batch-size", type=int, default=1000, help="applications")
    parser.add_argument("--repeats", type=int, default=7, help="timings per step (best kept)")
    return parser.parse_args()


def best_ms(
    step: Callable[..., Any], repeats: int, setup: Callable[[], Any] | None = None
) -> float:
    """The shortest of ``repeats`` timings (ms) of ``step``, given ``setup()``'s result."""
    best = float("inf")
    for _ in range(repeats):
        given = () if setup is None else (setup(),)
        start = time.perf_counter()
        step(*given)
        best = min(best, time.perf_counter() - start)
    return best * 1000.0


def through_the_app(body: bytes, repeats: int) -> dict[str, float]:
    """The best wall time and ``Server-Timing`` (ms) of ``POST /predict/batch`` of ``body``
    through the ASGI app in process, started as uvicorn starts it (lifespan)."""
    from fastapi.testclient import TestClient

    from credit_scoring.api.main import create_app
    from credit_scoring.api.timing import server_time_ms

    wall, server = [], []
    with TestClient(create_app()) as client:
        for attempt in range(repeats + 1):  # the first one warms up
            start = time.perf_counter()
            response = client.post(
                "/predict/batch", content=body, headers={"content-type": "application/json"}
            )
            elapsed = (time.perf_counter() - start) * 1000.0
            if response.status_code != 200:
                sys.exit(f"the app answered {response.status_code}: {response.text[:300]}")
            if attempt:
                wall.append(elapsed)
                server.append(server_time_ms(response.headers["server-timing"]))
    return {"through the app: wall": min(wall), "through the app: server time": min(server)}


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as folder:
        from credit_scoring.api.launch import run_environment

        os.environ.update(
            run_environment(args.project_root.resolve(), f"sqlite:///{folder}/d.db", "")
        )
        os.environ["CREDIT_API_MODEL_URI"] = ""  # the model folder, as the Docker image
        from credit_scoring.api.batch_decoder import decode_batch
        from credit_scoring.api.checks import application_warnings
        from credit_scoring.api.json_body import parse_json
        from credit_scoring.api.responses import AnswerResponse
        from credit_scoring.api.schemas import BatchRequest
        from credit_scoring.api.service import PROTECTED_FEATURES
        from credit_scoring.api.settings import ApiSettings
        from credit_scoring.api.startup import load_state
        from credit_scoring.modeling.served import default_probability

        logging.disable(logging.INFO)
        state = load_state(ApiSettings())
        service = state.service
        clients = state.clients
        body = orjson.dumps(
            {
                "applications": [
                    {"application": clients.get(i)} for i in clients.ids(args.batch_size, 0)
                ]
            }
        )
        requests = decode_batch(body)  # the applications' fields, as the route scores them
        if requests is None:
            sys.exit("msgspec left the batch to the request models")
        history, _ = service.history_features(requests)
        blocks, columns = service.feature_columns(requests, history)
        transformed = service.preprocess(columns)
        explainer = service.explainer
        answers = service.score(requests)
        steps = {
            "decode (msgspec)": lambda: decode_batch(body),
            "parse": lambda: parse_json(body),
            "parse and validate": lambda: BatchRequest.model_validate(parse_json(body)),
            "history lookup": lambda: service.history_features(requests),
            "features": lambda: service.feature_columns(requests, history),
            "warnings": lambda: application_warnings(blocks),
            "preprocess": lambda: service.preprocess(columns),
            "probability": lambda: default_probability(service.model.pipeline, transformed),
            "SHAP values": lambda: explainer.shap_values(np.asarray(transformed, float)),
            "reasons": lambda: explainer.reasons(
                columns, service.top_k, exclude=PROTECTED_FEATURES, transformed=transformed
            ),
            "decision (lookup to log rows)": lambda: service.decide(requests),
            "answer": lambda: AnswerResponse({"results": answers, "n": len(requests)}),
        }
        times = {name: best_ms(step, args.repeats) for name, step in steps.items()}
        times["commit alone"] = best_ms(  # new request ids each time
            service.decision_log.record, args.repeats, lambda: service.decide(requests).records
        )
        times["scoring (decision, reasons + commit)"] = best_ms(
            lambda: service.score(requests), args.repeats
        )
        state.close()
        app = through_the_app(body, args.repeats)
    parts = ("decode (msgspec)", "scoring (decision, reasons + commit)", "answer")
    total = sum(times[part] for part in parts)
    print(f"batch of {args.batch_size} on {args.project_root} (best of {args.repeats}):")
    for name, ms in times.items():
        print(f"  {name:36s} {ms:8.1f} ms")
    print(f"  {'total (decode, score, answer)':36s} {total:8.1f} ms")
    print(f"  {'per application':36s} {total * 1000 / args.batch_size:8.0f} µs")
    for name, ms in app.items():
        print(f"  {name:36s} {ms:8.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
