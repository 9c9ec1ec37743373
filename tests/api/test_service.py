"""The scoring service in process, on the tiny run's model folder."""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from credit_scoring.api.launch import run_environment
from credit_scoring.api.schemas import PredictRequest
from credit_scoring.api.settings import ApiSettings
from credit_scoring.api.startup import ApiState, load_state
from credit_scoring.modeling.decision import GRANTED


@pytest.fixture(scope="module")
def state(tiny_project, tmp_path_factory) -> Iterator[ApiState]:
    """What the API loads (model folder, stores, explainer, a fresh decision log)."""
    folder = tmp_path_factory.mktemp("service")
    env = run_environment(tiny_project.root, f"sqlite:///{folder / 'decisions.db'}")
    fields = {key.removeprefix("CREDIT_API_").lower(): value for key, value in env.items()}
    state = load_state(ApiSettings(**fields | {"model_uri": "", "cache_dir": ""}))
    assert state.service is not None, state.error
    yield state
    state.close()


def refused_requests(state: ApiState, wanted: int) -> list[PredictRequest]:
    """Production clients the model refuses (decided, not logged)."""
    clients, found = state.clients, []
    for sk_id_curr in clients.ids(200, 0):
        try:
            request = PredictRequest.model_validate({"application": clients.get(sk_id_curr)})
        except ValidationError:  # a client without every required field
            continue
        if state.service.decide([request]).responses[0]["decision"] != GRANTED:
            found.append(request)
        if len(found) == wanted:
            break
    assert found, "no refused client among the first 200"
    return found


def test_the_counterfactual_search_runs_off_the_event_loop(state, monkeypatch):
    """`/predict?counterfactual=true` is scored in the loop, but its search (about 80 ms) runs
    in a worker thread: the loop answers other requests meanwhile."""
    service, in_loop = state.service, []
    search = service.what_if

    def recording_search(*args, **kwargs):
        try:
            asyncio.get_running_loop()
            in_loop.append(True)
        except RuntimeError:
            in_loop.append(False)
        return search(*args, **kwargs)

    monkeypatch.setattr(service, "what_if", recording_search)
    requests = refused_requests(state, 2)
    answers = asyncio.run(service.score_async(requests, what_if=True))
    assert in_loop == [False] * len(requests)
    assert all(answer["counterfactual"] is not None for answer in answers)


def test_a_batch_is_scored_with_the_garbage_collector_paused(state, monkeypatch):
    service, enabled = state.service, []
    explain = service.explain

    def recording_explain(scored):
        enabled.append(gc.isenabled())
        return explain(scored)

    monkeypatch.setattr(service, "explain", recording_explain)
    requests = refused_requests(state, 2)
    assert gc.isenabled()
    answers = service.score(requests)
    assert enabled == [False] and gc.isenabled()
    assert len(answers) == len(requests)


def test_request_ids_are_time_ordered_uuid7(state):
    """Request ids grow with time (UUIDv7), so the log's unique index on them is appended at
    its end instead of rewritten at random pages: within a batch and from one call to the
    next."""
    requests = refused_requests(state, 2)
    ids = [answer["request_id"] for _ in range(3) for answer in state.service.score(requests)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert {uuid.UUID(i).version for i in ids} == {7}
