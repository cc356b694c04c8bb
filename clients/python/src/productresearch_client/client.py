"""A channel to one service of the mesh, with typed wrappers of its calls."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from typing import Iterator, Literal, Sequence, Union

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ._pb.productresearch.common.v1 import common_pb2
from ._pb.productresearch.distiller.v1 import distiller_pb2, distiller_pb2_grpc
from ._pb.productresearch.supervisor.v1 import supervisor_pb2, supervisor_pb2_grpc
from ._pb.productresearch.tool_gateway.v1 import tool_gateway_pb2, tool_gateway_pb2_grpc
from ._pb.productresearch.user_agent.v1 import user_agent_pb2_grpc

# The mesh's default message limit (server.max_message_bytes); a batch of
# trajectories is large, so the client accepts as much as the server may send.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class RecordEvent:
    """One entry of the trajectory record, as the supervisor recorded it."""

    kind: Literal["intent", "step", "verdict", "termination"]
    seq: int
    round: int
    event: common_pb2.TrajectoryEvent


@dataclass(frozen=True)
class Finished:
    """The complete trajectory (the last event of a Synthesize stream)."""

    trajectory: common_pb2.Trajectory


SynthesizeEvent = Union[RecordEvent, Finished]


@dataclass(frozen=True)
class BatchProgress:
    total: int
    done: int
    running: int
    failed: int
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class BatchFailure:
    """A history that could not start, with the reason."""

    user_id: str
    reason: str


BatchEvent = Union[BatchProgress, Finished, BatchFailure]


def new_traceparent() -> str:
    """A fresh W3C traceparent (sampled) for a new trace."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def history_from_json(line: str | dict) -> common_pb2.UserHistory:
    """A UserHistory from one line of a histories JSONL file (docs/histories.md)."""
    data = json.loads(line) if isinstance(line, str) else line
    history = common_pb2.UserHistory(user_id=data["user_id"])
    for e in data.get("events", []):
        kind = "HISTORY_EVENT_KIND_" + str(e.get("kind", "unspecified")).upper()
        history.events.add(
            kind=common_pb2.HistoryEventKind.Value(kind),
            timestamp=e.get("timestamp", ""),
            product_id=e.get("product_id", ""),
            title=e.get("title", ""),
            price=float(e.get("price", 0.0)),
            rating=float(e.get("rating", 0.0)),
            text=e.get("text", ""),
            category=e.get("category", ""),
        )
    return history


class Client:
    """A channel to one service address (``host:port``).

    ``token``: bearer token for servers that require one (the supervisor and
    distiller in a deployment). TLS: pass ``root_certificates`` (PEM bytes of
    the CA), and for mutual TLS ``private_key`` and ``certificate_chain``.
    Without them the channel is plaintext (a loopback mesh).
    """

    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        root_certificates: bytes | None = None,
        private_key: bytes | None = None,
        certificate_chain: bytes | None = None,
        server_name: str | None = None,
    ) -> None:
        options = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ]
        if server_name:
            options.append(("grpc.ssl_target_name_override", server_name))
        if root_certificates is not None:
            credentials = grpc.ssl_channel_credentials(root_certificates, private_key, certificate_chain)
            self._channel = grpc.secure_channel(target, credentials, options=options)
        else:
            self._channel = grpc.insecure_channel(target, options=options)
        self._token = token if token is not None else None
        self.supervisor = supervisor_pb2_grpc.SupervisorServiceStub(self._channel)
        self.distiller = distiller_pb2_grpc.DistillerServiceStub(self._channel)
        self.tool_gateway = tool_gateway_pb2_grpc.ToolGatewayServiceStub(self._channel)
        self.user_agent = user_agent_pb2_grpc.UserAgentServiceStub(self._channel)
        self.health_stub = health_pb2_grpc.HealthStub(self._channel)

    @classmethod
    def from_env(cls, target: str, token_env: str = "PRODUCTRESEARCH_TOKEN") -> "Client":
        """A client whose token comes from the environment variable ``token_env``."""
        return cls(target, token=os.environ.get(token_env) or None)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def metadata(self, traceparent: str | None = None) -> list[tuple[str, str]]:
        """The metadata of a call: bearer token and trace context, when set."""
        md: list[tuple[str, str]] = []
        if self._token:
            md.append(("authorization", f"Bearer {self._token}"))
        if traceparent:
            md.append(("traceparent", traceparent))
        return md

    # --- supervisor ---------------------------------------------------------

    def synthesize(
        self,
        history: common_pb2.UserHistory,
        *,
        caps: supervisor_pb2.Caps | None = None,
        traceparent: str | None = None,
        timeout: float | None = None,
    ) -> Iterator[SynthesizeEvent]:
        """Synthesizes one trajectory, yielding each record event as the
        supervisor records it, then ``Finished`` with the whole trajectory.
        Closing the iterator early cancels the call (and the work)."""
        request = supervisor_pb2.SynthesizeRequest(history=history, caps=caps)
        stream = self.supervisor.Synthesize(request, metadata=self.metadata(traceparent), timeout=timeout)
        try:
            for message in stream:
                which = message.WhichOneof("event")
                if which == "record":
                    record = message.record
                    yield RecordEvent(
                        kind=record.WhichOneof("event"),  # type: ignore[arg-type]
                        seq=record.seq,
                        round=record.round,
                        event=record,
                    )
                elif which == "trajectory":
                    yield Finished(trajectory=message.trajectory)
        finally:
            stream.cancel()

    def synthesize_batch(
        self,
        histories: Sequence[common_pb2.UserHistory],
        *,
        caps: supervisor_pb2.Caps | None = None,
        concurrency: int = 0,
        traceparent: str | None = None,
        timeout: float | None = None,
    ) -> Iterator[BatchEvent]:
        """Synthesizes a batch, yielding progress, each finished trajectory
        and each history that could not start."""
        request = supervisor_pb2.SynthesizeBatchRequest(histories=list(histories), caps=caps, concurrency=concurrency)
        stream = self.supervisor.SynthesizeBatch(request, metadata=self.metadata(traceparent), timeout=timeout)
        try:
            for message in stream:
                which = message.WhichOneof("event")
                if which == "progress":
                    p = message.progress
                    yield BatchProgress(
                        total=p.total,
                        done=p.done,
                        running=p.running,
                        failed=p.failed,
                        prompt_tokens=p.usage.prompt_tokens,
                        completion_tokens=p.usage.completion_tokens,
                    )
                elif which == "trajectory":
                    yield Finished(trajectory=message.trajectory)
                elif which == "failure":
                    yield BatchFailure(user_id=message.failure.user_id, reason=message.failure.reason)
        finally:
            stream.cancel()

    # --- tool gateway -------------------------------------------------------

    def list_tools(self, *, traceparent: str | None = None) -> list[tool_gateway_pb2.ToolDefinition]:
        return list(self.tool_gateway.ListTools(tool_gateway_pb2.ListToolsRequest(), metadata=self.metadata(traceparent)).tools)

    def call_tool(self, name: str, arguments: dict, *, trajectory_id: str = "", traceparent: str | None = None) -> tool_gateway_pb2.CallToolResponse:
        request = tool_gateway_pb2.CallToolRequest(name=name, arguments_json=json.dumps(arguments), trajectory_id=trajectory_id)
        return self.tool_gateway.CallTool(request, metadata=self.metadata(traceparent))

    # --- distiller ----------------------------------------------------------

    def distill(
        self,
        trajectories: Sequence[common_pb2.Trajectory],
        tools: Sequence[tool_gateway_pb2.ToolDefinition],
        *,
        min_assistant_turns: int = 0,
        min_tool_calls: int = 0,
        traceparent: str | None = None,
    ) -> distiller_pb2.DistillResponse:
        request = distiller_pb2.DistillRequest(
            trajectories=list(trajectories),
            tools=list(tools),
            min_assistant_turns=min_assistant_turns,
            min_tool_calls=min_tool_calls,
        )
        return self.distiller.Distill(request, metadata=self.metadata(traceparent))

    # --- health -------------------------------------------------------------

    def health(self, service: str = "") -> str:
        """The serving status of ``service`` ("" = the server): SERVING, NOT_SERVING, ..."""
        response = self.health_stub.Check(health_pb2.HealthCheckRequest(service=service))
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
