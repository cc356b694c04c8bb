"""The README's `buf curl` examples, run against the mesh through reflection.

buf comes from scripts/check-proto.sh's install (.tools/); $PR_BUF names it.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

import pytest

from conftest import DISTILLER_TOKEN

# Verbatim in README.md ("Call it from other languages"): proto JSON, so enum
# values are spelled as in the .proto.
SYNTHESIZE_REQUEST = (
    '{"history":{"user_id":"u1","events":[{"kind":"HISTORY_EVENT_KIND_SEARCH",'
    '"text":"noise cancelling headphones long battery commute"}]},"caps":{"max_tool_calls":2}}'
)

BUF = os.environ.get("PR_BUF", "")
pytestmark = pytest.mark.skipif(not BUF or not pathlib.Path(BUF).exists(), reason="PR_BUF (buf from npm @bufbuild/buf) not set")


def buf_curl(*args: str) -> str:
    done = subprocess.run([BUF, "curl", "--protocol", "grpc", "--http2-prior-knowledge", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_list_services_through_reflection(mesh):
    listed = buf_curl("--list-services", f"http://{mesh.addresses['tool-gateway']}").split()
    assert "productresearch.tool_gateway.v1.ToolGatewayService" in listed
    assert "grpc.health.v1.Health" in listed


def test_call_a_tool(mesh):
    out = buf_curl(
        "-d",
        json.dumps({"name": "product_search", "arguments_json": json.dumps({"query": "espresso grinder"})}),
        f"http://{mesh.addresses['tool-gateway']}/productresearch.tool_gateway.v1.ToolGatewayService/CallTool",
    )
    assert "cm-001" in json.loads(out)["content"]


def test_synthesize_streams_json_messages(mesh):
    out = buf_curl(
        "-d",
        SYNTHESIZE_REQUEST,
        f"http://{mesh.addresses['supervisor']}/productresearch.supervisor.v1.SupervisorService/Synthesize",
    )
    messages = [json.loads(m) for m in out.replace("}\n{", "}\x00{").split("\x00")]
    assert "record" in messages[0] and "intent" in messages[0]["record"]
    assert "trajectory" in messages[-1]


def test_health_is_open_and_the_distiller_needs_its_token(mesh):
    url = f"http://{mesh.addresses['distiller']}"
    token = f"authorization: Bearer {DISTILLER_TOKEN}"
    health = buf_curl("--reflect-header", token, "-d", '{"service":"productresearch.distiller.v1.DistillerService"}', f"{url}/grpc.health.v1.Health/Check")
    assert json.loads(health)["status"] == "SERVING"
    out = buf_curl("-H", token, "--reflect-header", token, "-d", "{}", f"{url}/productresearch.distiller.v1.DistillerService/Distill")
    assert json.loads(out) == {}
