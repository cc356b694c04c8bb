"""Starts the mesh for the tests: the simulated model and the five service
binaries, each on its own 127.0.0.1 port, configured by files written here.

Binaries come from $PR_BIN_DIR (scripts/test-python-client.sh builds them).
The distiller requires a bearer token, so the tests drive an authenticated
service too. Readiness is each service's gRPC health reporting SERVING.
"""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import time
from dataclasses import dataclass

import grpc
import pytest

from productresearch_client import Client

REPO = pathlib.Path(__file__).resolve().parents[3]
BIN_DIR = pathlib.Path(os.environ.get("PR_BIN_DIR", REPO / "target" / "debug"))
READY_TIMEOUT_SECS = 120
DISTILLER_TOKEN = "py-client-test-token-6d0b"

SERVICES = {
    "user-agent": "productresearch.user_agent.v1.UserAgentService",
    "supervisor": "productresearch.supervisor.v1.SupervisorService",
    "research-agent": "productresearch.research_agent.v1.ResearchAgentService",
    "tool-gateway": "productresearch.tool_gateway.v1.ToolGatewayService",
    "distiller": "productresearch.distiller.v1.DistillerService",
}


@dataclass
class MeshAddresses:
    addresses: dict[str, str]
    records_dir: pathlib.Path
    logs_dir: pathlib.Path

    def client(self, service: str, **kwargs) -> Client:
        return Client(self.addresses[service], **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary(name: str) -> pathlib.Path:
    path = BIN_DIR / name
    if not path.exists():
        pytest.exit(f"{path} is missing: build it first (cargo build -p {name})", returncode=2)
    return path


@pytest.fixture(scope="session")
def mesh(tmp_path_factory):
    work = tmp_path_factory.mktemp("mesh")
    logs = work / "logs"
    logs.mkdir()
    procs: list[tuple[str, subprocess.Popen]] = []

    sim = subprocess.Popen(
        [binary("sim-llm"), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=open(logs / "sim-llm.log", "w"),
        text=True,
    )
    procs.append(("sim-llm", sim))
    line = sim.stdout.readline().strip()
    if not line.startswith("sim-llm listening on "):
        pytest.exit(f"sim-llm did not start: {line!r}", returncode=2)
    model_url = line.removeprefix("sim-llm listening on ")

    ports = {name: free_port() for name in SERVICES}
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    llm = f'[llm]\nbase_url = "{model_url}"\nmodel = "sim-model"\n'
    records = work / "records"
    tokens = work / "distiller-tokens"
    tokens.write_text(DISTILLER_TOKEN + "\n")
    configs = {
        "user-agent": llm,
        "research-agent": llm + f'[tool_gateway]\nendpoints = ["{url["tool-gateway"]}"]\n',
        "tool-gateway": f'catalogs = ["{REPO / "demo" / "catalog.jsonl"}"]\nweb_corpus = "{REPO / "demo" / "web"}"\n',
        "distiller": f'[server.auth]\nbearer_tokens_file = "{tokens}"\n',
        "supervisor": f'records_dir = "{records}"\n'
        + llm
        + "".join(f'[{svc.replace("-", "_")}]\nendpoints = ["{url[svc]}"]\n' for svc in ("user-agent", "research-agent", "tool-gateway")),
    }
    for name, text in configs.items():
        config = work / f"{name}.toml"
        config.write_text(text)
        proc = subprocess.Popen(
            [binary(name), "--listen", f"127.0.0.1:{ports[name]}", "--config", config],
            stdout=subprocess.DEVNULL,
            stderr=open(logs / f"{name}.log", "w"),
            env={**os.environ, "RUST_LOG": "info"},
        )
        procs.append((name, proc))

    addresses = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
    try:
        for name, service in SERVICES.items():
            wait_serving(name, service, addresses[name], dict(procs)[name], logs)
        yield MeshAddresses(addresses=addresses, records_dir=records, logs_dir=logs)
    finally:
        for _, proc in reversed(procs):
            proc.terminate()
        for name, proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_serving(name: str, service: str, address: str, proc: subprocess.Popen, logs: pathlib.Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECS
    with Client(address) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log = (logs / f"{name}.log").read_text()[-2000:]
                pytest.exit(f"{name} exited with {proc.returncode} before it was ready:\n{log}", returncode=2)
            try:
                if client.health(service) == "SERVING":
                    return
            except grpc.RpcError:
                pass
            # Readiness poll: the port is not open yet, or the gateway is indexing.
            time.sleep(0.05)
    pytest.exit(f"{name} at {address} was not SERVING within {READY_TIMEOUT_SECS}s", returncode=2)
