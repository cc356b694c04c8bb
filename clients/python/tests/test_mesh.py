"""Drives the running mesh from Python over real gRPC (see conftest.py)."""

from __future__ import annotations

import json

import grpc
import pytest

from productresearch_client import (
    BatchFailure,
    BatchProgress,
    Finished,
    RecordEvent,
    history_from_json,
    new_traceparent,
    supervisor,
)

from conftest import DISTILLER_TOKEN, REPO, SERVICES

DEMO_HISTORIES = [json.loads(line) for line in (REPO / "demo" / "histories.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def synthesized(mesh):
    """One trajectory synthesized with a known trace context, and its events."""
    traceparent = new_traceparent()
    with mesh.client("supervisor") as client:
        events = list(client.synthesize(history_from_json(DEMO_HISTORIES[0]), traceparent=traceparent, timeout=120))
    return traceparent, events


def test_every_service_reports_serving(mesh):
    for name, service in SERVICES.items():
        with mesh.client(name) as client:
            assert client.health(service) == "SERVING", name
            assert client.health("") == "SERVING", name
            with pytest.raises(grpc.RpcError) as err:
                client.health("no.such.Service")
            assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_synthesize_streams_record_events_then_the_trajectory(synthesized):
    _, events = synthesized
    records = [e for e in events if isinstance(e, RecordEvent)]
    assert isinstance(events[-1], Finished), "the last message carries the trajectory"
    assert all(isinstance(e, RecordEvent) for e in events[:-1])
    # The record streams in order, from 0, without gaps, starting with the intent.
    assert [r.seq for r in records] == list(range(len(records)))
    assert records[0].kind == "intent" and records[0].event.intent.query
    kinds = {r.kind for r in records}
    assert {"step", "verdict", "termination"} <= kinds, kinds
    assert records[-1].kind == "termination"
    trajectory = events[-1].trajectory
    assert trajectory.user_id == DEMO_HISTORIES[0]["user_id"]
    assert len(trajectory.events) == len(records)
    # A tool call went through the gateway and its result came back.
    steps = [r.event.step for r in records if r.kind == "step"]
    assert any(s.HasField("tool_result") and not s.tool_result.is_error for s in steps), "no successful tool result recorded"


def test_trace_context_sent_from_python_is_kept(synthesized):
    traceparent, events = synthesized
    trace_id = traceparent.split("-")[1]
    # The supervisor records the trace id of the span serving the call: the
    # caller's trace, not a new one.
    assert events[-1].trajectory.trace_id == trace_id


def test_tool_calls_through_the_gateway(mesh):
    with mesh.client("tool-gateway") as gateway:
        names = {t.name for t in gateway.list_tools()}
        assert names == {"product_search", "visit_product", "web_search", "web_visit"}
        found = gateway.call_tool("product_search", {"query": "noise cancelling headphones"})
        assert not found.is_error, found.content
        assert "hp-001" in found.content
        product = gateway.call_tool("visit_product", {"product_id": "hp-001"})
        assert not product.is_error and "Aurion Quiet 700" in product.content
        bad = gateway.call_tool("product_search", {"qurey": "typo"})
        assert bad.is_error and bad.error_kind != 0


def test_distiller_requires_its_token_and_distills(mesh, synthesized):
    _, events = synthesized
    trajectory = events[-1].trajectory
    with mesh.client("tool-gateway") as gateway:
        tools = gateway.list_tools()
    with mesh.client("distiller") as anonymous:
        with pytest.raises(grpc.RpcError) as err:
            anonymous.distill([trajectory], tools)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        # Health stays open without a token.
        assert anonymous.health(SERVICES["distiller"]) == "SERVING"
    with mesh.client("distiller", token=DISTILLER_TOKEN) as distiller:
        response = distiller.distill([trajectory], tools, min_assistant_turns=1, min_tool_calls=1)
    assert len(response.examples) + len(response.drops) == 1
    for example in response.examples:
        sft = json.loads(example.json)
        assert sft["messages"][0]["role"] == "system"
        assert any(m.get("tool_calls") for m in sft["messages"] if m["role"] == "assistant")
    for drop in response.drops:
        assert drop.filter and drop.reason


def test_synthesize_batch_streams_progress_and_trajectories(mesh):
    histories = [history_from_json(h) for h in DEMO_HISTORIES[:2]]
    with mesh.client("supervisor") as client:
        events = list(
            client.synthesize_batch(histories, caps=supervisor.Caps(max_tool_calls=2, max_report_rounds=2), concurrency=2, timeout=300)
        )
    finished = [e for e in events if isinstance(e, Finished)]
    progress = [e for e in events if isinstance(e, BatchProgress)]
    assert not [e for e in events if isinstance(e, BatchFailure)]
    assert sorted(f.trajectory.user_id for f in finished) == sorted(h.user_id for h in histories)
    assert progress and progress[-1].done == progress[-1].total == len(histories)
