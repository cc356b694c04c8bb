"""Records survive a pod: two supervisors share an S3 bucket, one is killed in
the middle of a trajectory, the other resumes it. Run by scripts/test-s3.sh.

    s3_records.py --bin-dir target/debug --moto .venvs/s3/bin/moto_server --s3-python .venvs/s3/bin/python --histories demo/histories.jsonl

Everything on 127.0.0.1: an S3-compatible server (moto), the simulated model,
user-agent, research-agent, tool-gateway, and supervisors A and B configured
as the chart configures replicas with services.supervisor.records (records_url
= "s3://<bucket>/<prefix>", AWS_ENDPOINT, AWS_ALLOW_HTTP, keys). A Synthesize
on A is cut by SIGKILL after a few recorded events; the same Synthesize on B
(the caller's retry landing on the other replica) must continue that
trajectory from the bucket: every event recorded before the kill kept at its
place (a step whose verdict was not recorded may be proposed again), the
sequence without a gap or a repeat, and the trajectory finished.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time

import grpc

from productresearch_client import Client, Finished, RecordEvent, history_from_json

BUCKET = "pr-records"
PREFIX = "records"
SUPERVISOR = "productresearch.supervisor.v1.SupervisorService"
SERVICES = {
    "user-agent": "productresearch.user_agent.v1.UserAgentService",
    "research-agent": "productresearch.research_agent.v1.ResearchAgentService",
    "tool-gateway": "productresearch.tool_gateway.v1.ToolGatewayService",
}


def fail(msg: str) -> None:
    print(f"s3_records: {msg}", file=sys.stderr)
    sys.exit(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The test's own reads go through boto3 (signed, as the bucket requires), in
# the venv moto comes with.
BOTO = """
import base64, json, sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="ci-access-key", aws_secret_access_key="ci-secret-key")
if sys.argv[2] == "create":
    s3.create_bucket(Bucket=sys.argv[3])
else:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=sys.argv[3], Prefix=sys.argv[4]).get("Contents", [])]
    print(json.dumps({k: s3.get_object(Bucket=sys.argv[3], Key=k)["Body"].read().decode() for k in keys}))
"""


def boto(python: str, endpoint: str, *args: str) -> str:
    return subprocess.run([python, "-c", BOTO, endpoint, *args], check=True, capture_output=True, text=True).stdout


def objects(python: str, endpoint: str) -> dict[str, bytes]:
    """Every object under the prefix, by key."""
    return json.loads(boto(python, endpoint, "list", BUCKET, f"{PREFIX}/"))


def trajectory_log(objs: dict[str, bytes]) -> tuple[str, list[dict]]:
    """The one trajectory's events in the bucket, in key order of their seq."""
    ids = {k.split("/")[1] for k in objs}
    if len(ids) != 1:
        fail(f"expected one trajectory in the bucket, found {sorted(ids)}")
    tid = ids.pop()
    events = sorted((json.loads(v) for v in objs.values()), key=lambda e: e["seq"])
    return tid, events


def wait_serving(name: str, addr: str, service: str, proc: subprocess.Popen, log: pathlib.Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            fail(f"{name} exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with Client(addr) as c:
                if c.health(service) == "SERVING":
                    return
        except grpc.RpcError:
            pass
        time.sleep(0.1)
    fail(f"{name} never became SERVING")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", type=pathlib.Path, required=True)
    ap.add_argument("--moto", required=True)
    ap.add_argument("--s3-python", required=True, help="the python of moto's venv (has boto3)")
    ap.add_argument("--histories", type=pathlib.Path, required=True)
    a = ap.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="pr-s3-"))
    procs: list[subprocess.Popen] = []

    def spawn(name: str, cmd: list, env: dict | None = None, stdout=subprocess.DEVNULL) -> subprocess.Popen:
        p = subprocess.Popen(cmd, stdout=stdout, stderr=open(work / f"{name}.log", "w"), env={**os.environ, **(env or {})}, text=True)
        procs.append(p)
        return p

    try:
        s3_port = free_port()
        endpoint = f"http://127.0.0.1:{s3_port}"
        spawn("moto", [a.moto, "-H", "127.0.0.1", "-p", str(s3_port)])
        deadline = time.monotonic() + 30
        while True:
            try:
                boto(a.s3_python, endpoint, "create", BUCKET)
                break
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    fail(f"moto did not start:\n{(work / 'moto.log').read_text()[-2000:]}")
                time.sleep(0.2)

        # A slow model, so the kill lands in the middle of the trajectory.
        sim = spawn("sim-llm", [a.bin_dir / "sim-llm", "--listen", "127.0.0.1:0", "--latency-ms", "150"], stdout=subprocess.PIPE)
        model = sim.stdout.readline().strip().removeprefix("sim-llm listening on ")
        llm = f'[llm]\nbase_url = "{model}"\nmodel = "sim-model"\n'
        ports = {n: free_port() for n in [*SERVICES, "supervisor-a", "supervisor-b"]}
        url = {n: f"http://127.0.0.1:{p}" for n, p in ports.items()}
        demo = pathlib.Path("demo").resolve()
        configs = {
            "user-agent": llm,
            "research-agent": llm + f'[tool_gateway]\nendpoints = ["{url["tool-gateway"]}"]\n',
            "tool-gateway": f'catalogs = ["{demo / "catalog.jsonl"}"]\nweb_corpus = "{demo / "web"}"\n',
        }
        supervisor = (
            f'records_url = "s3://{BUCKET}/{PREFIX}"\n'
            + llm
            + "".join(f'[{s.replace("-", "_")}]\nendpoints = ["{url[s]}"]\n' for s in SERVICES)
        )
        # What the chart gives a replica (services.supervisor.records.s3).
        aws = {
            "AWS_ENDPOINT": endpoint,
            "AWS_ALLOW_HTTP": "true",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "ci-access-key",
            "AWS_SECRET_ACCESS_KEY": "ci-secret-key",
        }
        running = {}
        for name in [*SERVICES, "supervisor-a", "supervisor-b"]:
            binary = "supervisor" if name.startswith("supervisor") else name
            cfg = work / f"{name}.toml"
            cfg.write_text(supervisor if binary == "supervisor" else configs[name])
            running[name] = spawn(name, [a.bin_dir / binary, "--listen", f"127.0.0.1:{ports[name]}", "--config", cfg], env=aws)
        for name, proc in running.items():
            service = SUPERVISOR if name.startswith("supervisor") else SERVICES[name]
            wait_serving(name, f"127.0.0.1:{ports[name]}", service, proc, work / f"{name}.log")

        history = history_from_json(a.histories.read_text().splitlines()[0])
        seen = 0
        with Client(f"127.0.0.1:{ports['supervisor-a']}") as c:
            stream = c.synthesize(history, timeout=120)
            for event in stream:
                if isinstance(event, Finished):
                    fail("the trajectory finished before supervisor A could be killed")
                if isinstance(event, RecordEvent):
                    seen += 1
                    if seen == 4:
                        running["supervisor-a"].send_signal(signal.SIGKILL)
                        running["supervisor-a"].wait()
                        break
        tid, before = trajectory_log(objects(a.s3_python, endpoint))
        print(f"  supervisor A killed after {len(before)} events of {tid} in the bucket")
        if len(before) < seen:
            fail(f"A streamed {seen} events but the bucket holds {len(before)}")

        with Client(f"127.0.0.1:{ports['supervisor-b']}") as c:
            finished = [e for e in c.synthesize(history, timeout=300) if isinstance(e, Finished)]
        if len(finished) != 1 or finished[0].trajectory.trajectory_id != tid:
            fail("supervisor B did not finish the same trajectory")
        tid_after, after = trajectory_log(objects(a.s3_python, endpoint))
        seqs = [e["seq"] for e in after]
        if seqs != list(range(len(after))):
            fail(f"the shared log repeats or skips a step: {seqs}")
        kept = [e for e in before if e in after]
        if len(kept) < len(before) - 1 or after[: len(kept)] != kept:
            fail("B did not continue the log A left: an event recorded before the kill changed")
        if len(after) <= len(before):
            fail("B added nothing after the kill")
        if after[-1].get("type") != "termination":
            fail(f"the last event is not a termination: {after[-1]}")
        print(f"  supervisor B resumed {tid} from the bucket: {len(kept)} events kept, {len(after) - len(kept)} added, ended")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


if __name__ == "__main__":
    main()
