"""Python client of the ProductResearch mesh.

The gRPC stubs and messages are generated from the repository's proto/ by
``generate.py`` (grpcio-tools); this module adds a connection helper and typed
wrappers for the streaming calls::

    from productresearch_client import Client, Finished, RecordEvent, history_from_json

    with Client("127.0.0.1:50052", token=os.environ.get("PR_TOKEN")) as supervisor:
        for event in supervisor.synthesize(history_from_json(line)):
            match event:
                case RecordEvent(kind="step", event=e): print(e.step.text)
                case Finished(trajectory=t): print(t.trajectory_id)

Every call carries the bearer token (``authorization`` metadata) when given,
and a W3C ``traceparent`` when one is passed, so the call joins the caller's
trace.
"""

from __future__ import annotations

from .client import (
    BatchFailure,
    BatchProgress,
    Client,
    Finished,
    RecordEvent,
    SynthesizeEvent,
    BatchEvent,
    history_from_json,
    new_traceparent,
)
from ._pb.productresearch.common.v1 import common_pb2 as common
from ._pb.productresearch.distiller.v1 import distiller_pb2 as distiller
from ._pb.productresearch.distiller.v1 import distiller_pb2_grpc as distiller_grpc
from ._pb.productresearch.research_agent.v1 import research_agent_pb2 as research_agent
from ._pb.productresearch.research_agent.v1 import research_agent_pb2_grpc as research_agent_grpc
from ._pb.productresearch.supervisor.v1 import supervisor_pb2 as supervisor
from ._pb.productresearch.supervisor.v1 import supervisor_pb2_grpc as supervisor_grpc
from ._pb.productresearch.tool_gateway.v1 import tool_gateway_pb2 as tool_gateway
from ._pb.productresearch.tool_gateway.v1 import tool_gateway_pb2_grpc as tool_gateway_grpc
from ._pb.productresearch.user_agent.v1 import user_agent_pb2 as user_agent
from ._pb.productresearch.user_agent.v1 import user_agent_pb2_grpc as user_agent_grpc

__all__ = [
    "BatchEvent",
    "BatchFailure",
    "BatchProgress",
    "Client",
    "Finished",
    "RecordEvent",
    "SynthesizeEvent",
    "common",
    "distiller",
    "distiller_grpc",
    "history_from_json",
    "new_traceparent",
    "research_agent",
    "research_agent_grpc",
    "supervisor",
    "supervisor_grpc",
    "tool_gateway",
    "tool_gateway_grpc",
    "user_agent",
    "user_agent_grpc",
]
