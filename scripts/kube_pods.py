"""Runs a rendered chart's workloads as real containers, the way a kubelet would.

Used by scripts/test-containers.sh:

    kube_pods.py --render render.yaml --work DIR --histories FILE -- podman --root ...

For each Deployment (one replica) the first container runs with `podman run
--network host` and what a kubelet gives it:

- the environment of the pod spec (values and Secret keys), plus every
  variable a kubelet injects: service links for each Service of the render
  with a cluster IP (`SUPERVISOR_SERVICE_HOST`, `SUPERVISOR_PORT=tcp://...`;
  injected even though the chart sets enableServiceLinks: false, as the
  worst case the binaries must survive), `KUBERNETES_*` and `HOSTNAME`;
- ConfigMap and Secret volumes as files (Secrets with the volume's mode, group
  fsGroup), emptyDirs, claims as host folders;
- the container's user and group (and fsGroup), read-only root, no
  capabilities, no privilege escalation;
- the Services' names resolving to 127.0.0.1 (hosts file).

Then: each pod's startup, readiness and liveness gRPC probes as declared; one
Synthesize and one Distill through the pods with the client certificate and
bearer token of the chart's Secrets (and the same calls refused without
them); the batch Job's indexes as containers until they complete, one index
killed (SIGKILL) mid-trajectory and started again, which must resume from its
records without repeating a recorded step.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import pathlib
import subprocess
import sys
import time

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from productresearch_client import Client, Finished, history_from_json
from productresearch_client import supervisor as supervisor_pb2

HOST_IP = "127.0.0.1"


def fail(msg: str) -> None:
    print(f"kube_pods: {msg}", file=sys.stderr)
    sys.exit(1)


class Render:
    """The objects of a rendered chart, by kind and name."""

    def __init__(self, path: pathlib.Path):
        self.docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        self.namespace = next(d["metadata"]["namespace"] for d in self.docs if d["kind"] == "Deployment")

    def of(self, kind: str) -> list[dict]:
        return [d for d in self.docs if d["kind"] == kind]

    def get(self, kind: str, name: str) -> dict:
        for d in self.of(kind):
            if d["metadata"]["name"] == name:
                return d
        fail(f"the render has no {kind} {name}")

    def secret_data(self, name: str) -> dict[str, bytes]:
        s = self.get("Secret", name)
        data = {k: base64.b64decode(v) for k, v in (s.get("data") or {}).items()}
        data.update({k: v.encode() for k, v in (s.get("stringData") or {}).items()})
        return data


def env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def kubelet_env(render: Render) -> dict[str, str]:
    """What a kubelet injects into every container (pkg/kubelet/envvars)."""
    services = [("kubernetes", "10.96.0.1", [{"name": "https", "port": 443, "protocol": "TCP"}])]
    for i, svc in enumerate(render.of("Service")):
        if svc["spec"].get("clusterIP") == "None":
            continue  # headless: no variables
        services.append((svc["metadata"]["name"], f"10.96.0.{10 + i}", svc["spec"]["ports"]))
    env = {}
    for name, ip, ports in services:
        n = env_name(name)
        env[f"{n}_SERVICE_HOST"] = ip
        for j, p in enumerate(ports):
            proto = p.get("protocol", "TCP")
            if j == 0:
                env[f"{n}_SERVICE_PORT"] = str(p["port"])
            if p.get("name"):
                env[f"{n}_SERVICE_PORT_{env_name(p['name'])}"] = str(p["port"])
            url = f"{proto.lower()}://{ip}:{p['port']}"
            if j == 0:
                env[f"{n}_PORT"] = url
            base = f"{n}_PORT_{p['port']}_{proto}"
            env[base] = url
            env[f"{base}_PROTO"] = proto.lower()
            env[f"{base}_PORT"] = str(p["port"])
            env[f"{base}_ADDR"] = ip
    return env


class Pods:
    """Starts pods of the render as podman containers."""

    def __init__(self, render: Render, work: pathlib.Path, podman: list[str]):
        self.render = render
        self.work = work
        self.podman = podman
        self.links = kubelet_env(render)
        ns = render.namespace
        self.hosts = []
        for svc in render.of("Service"):
            n = svc["metadata"]["name"]
            for h in (n, f"{n}.{ns}", f"{n}.{ns}.svc", f"{n}.{ns}.svc.cluster.local"):
                self.hosts += ["--add-host", f"{h}:{HOST_IP}"]

    def claim(self, name: str) -> pathlib.Path:
        path = self.work / "claims" / name
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o777)
        return path

    def volume(self, pod: str, vol: dict, fs_group: int) -> pathlib.Path:
        """A pod volume's content on the host, as the kubelet lays it out."""
        path = self.work / "volumes" / pod / vol["name"]
        path.mkdir(parents=True, exist_ok=True)
        if "configMap" in vol or "secret" in vol:
            if "configMap" in vol:
                src = vol["configMap"]
                data = {k: v.encode() for k, v in self.render.get("ConfigMap", src["name"])["data"].items()}
                mode = src.get("defaultMode", 0o644)
            else:
                src = vol["secret"]
                data = self.render.secret_data(src["secretName"])
                mode = src.get("defaultMode", 0o644)
            items = src.get("items") or [{"key": k, "path": k} for k in data]
            for item in items:
                f = path / item["path"]
                f.parent.mkdir(parents=True, exist_ok=True)
                f.write_bytes(data[item["key"]])
                os.chown(f, 0, fs_group)
                f.chmod(mode)
                for d in [f.parent, *f.parent.parents]:
                    if d == path.parent:
                        break
                    d.chmod(0o755)
        elif "emptyDir" in vol:
            os.chown(path, 0, fs_group)
            path.chmod(0o777)
        elif "persistentVolumeClaim" in vol:
            return self.claim(vol["persistentVolumeClaim"]["claimName"])
        else:
            fail(f"volume {vol['name']} of {pod}: unsupported kind")
        return path

    def run(self, name: str, spec: dict, extra_env: dict[str, str] | None = None, args_subst: dict[str, str] | None = None) -> str:
        """Starts the pod `name` (its first container); returns the container name."""
        c = spec["containers"][0]
        psc = spec.get("securityContext", {})
        csc = c.get("securityContext", {})
        uid = csc.get("runAsUser", psc.get("runAsUser", 0))
        gid = csc.get("runAsGroup", psc.get("runAsGroup", 0))
        fs_group = psc.get("fsGroup", gid)
        env = {"HOSTNAME": name, **self.links}
        for e in c.get("env", []):
            if "value" in e:
                env[e["name"]] = str(e["value"])
            elif "secretKeyRef" in e.get("valueFrom", {}):
                ref = e["valueFrom"]["secretKeyRef"]
                data = self.render.secret_data(ref["name"])
                if ref["key"] in data:
                    env[e["name"]] = data[ref["key"]].decode()
                elif not ref.get("optional"):
                    fail(f"{name}: secret {ref['name']} has no key {ref['key']}")
            elif "fieldRef" in e.get("valueFrom", {}):
                env[e["name"]] = (extra_env or {})[e["name"]]
        env.update(extra_env or {})
        cmd = [*self.podman, "run", "-d", "--name", name, "--hostname", name, "--network", "host", *self.hosts,
               "--user", f"{uid}:{gid}", "--group-add", str(fs_group), "--pull", "never"]
        if csc.get("readOnlyRootFilesystem"):
            cmd.append("--read-only")
        for cap in csc.get("capabilities", {}).get("drop", []):
            cmd += ["--cap-drop", cap]
        if csc.get("allowPrivilegeEscalation") is False:
            cmd += ["--security-opt", "no-new-privileges"]
        for k, v in env.items():
            cmd += ["--env", f"{k}={v}"]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for m in c.get("volumeMounts", []):
            host = self.volume(name, volumes[m["name"]], fs_group)
            cmd += ["--volume", f"{host}:{m['mountPath']}" + (":ro" if m.get("readOnly") else "")]
        args = [a for a in c.get("args", [])]
        for k, v in (args_subst or {}).items():
            args = [a.replace(f"$({k})", v) for a in args]
        cmd += [c["image"], *args]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return name

    def logs(self, name: str) -> str:
        r = subprocess.run([*self.podman, "logs", name], capture_output=True, text=True)
        return (r.stdout + r.stderr)[-4000:]

    def state(self, name: str) -> dict:
        out = subprocess.run([*self.podman, "inspect", name, "--format", "{{json .State}}"], capture_output=True, text=True, check=True)
        return json.loads(out.stdout)


def probe(port: int, service: str) -> str:
    with grpc.insecure_channel(f"{HOST_IP}:{port}") as ch:
        r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(r.status)


def check_probes(pods: Pods, name: str, container: dict) -> None:
    """The kubelet's view: startup until it passes (within its budget), then
    readiness and liveness."""
    sp = container["startupProbe"]
    deadline = time.monotonic() + sp["periodSeconds"] * sp["failureThreshold"]
    while True:
        state = pods.state(name)
        if not state.get("Running"):
            fail(f"{name} exited ({state.get('ExitCode')}):\n{pods.logs(name)}")
        try:
            if probe(sp["grpc"]["port"], sp["grpc"].get("service", "")) == "SERVING":
                break
        except grpc.RpcError:
            pass
        if time.monotonic() > deadline:
            fail(f"{name}: startup probe never passed:\n{pods.logs(name)}")
        time.sleep(0.2)
    for kind in ("readinessProbe", "livenessProbe"):
        p = container[kind]["grpc"]
        status = probe(p["port"], p.get("service", ""))
        if status != "SERVING":
            fail(f"{name}: {kind} answered {status}")
    print(f"  {name}: startup, readiness and liveness probes pass")


def tls_client(render: Render, port: int, name: str, **kw) -> Client:
    cert = render.secret_data("productresearch-client-tls")
    return Client(
        f"{HOST_IP}:{port}",
        root_certificates=cert["ca.crt"],
        private_key=cert["tls.key"],
        certificate_chain=cert["tls.crt"],
        server_name=f"{name}.{render.namespace}.svc.cluster.local",
        **kw,
    )


def expect_refused(what: str, call) -> None:
    try:
        call()
    except grpc.RpcError as e:
        print(f"  {what}: refused ({e.code().name})")
        return
    fail(f"{what}: was served")


def synthesize_and_distill(render: Render, history) -> None:
    token = render.secret_data("pr-api-tokens")["token"].decode()
    values = {d["metadata"]["name"]: d for d in render.of("Service")}
    sup_port = values["supervisor"]["spec"]["ports"][0]["port"]
    dis_port = values["distiller"]["spec"]["ports"][0]["port"]
    caps = supervisor_pb2.Caps(max_tool_calls=3, max_report_rounds=2)
    with tls_client(render, sup_port, "supervisor", token=token) as sup:
        events = list(sup.synthesize(history, caps=caps, timeout=120))
    finished = [e for e in events if isinstance(e, Finished)]
    if len(finished) != 1 or len(events) < 3:
        fail(f"Synthesize: {len(events)} events, {len(finished)} trajectories")
    trajectory = finished[0].trajectory
    print(f"  Synthesize through the pods: {len(events) - 1} record events, trajectory {trajectory.trajectory_id}")
    tg_port = values["tool-gateway"]["spec"]["ports"][0]["port"]
    with tls_client(render, tg_port, "tool-gateway") as tg:
        tools = tg.list_tools()
    with tls_client(render, dis_port, "distiller", token=token) as dis:
        out = dis.distill([trajectory], tools)
    if len(out.examples) + len(out.drops) != 1:
        fail(f"Distill: {len(out.examples)} examples and {len(out.drops)} drops for one trajectory")
    print(f"  Distill through the pods: {len(out.examples)} SFT example, {len(out.drops)} dropped")
    with tls_client(render, sup_port, "supervisor") as anonymous:
        expect_refused("Synthesize without the bearer token", lambda: list(anonymous.synthesize(history, caps=caps, timeout=30)))
    with Client(f"{HOST_IP}:{sup_port}", token=token, root_certificates=render.secret_data("productresearch-client-tls")["ca.crt"],
                server_name=f"supervisor.{render.namespace}.svc.cluster.local") as no_cert:
        expect_refused("a call without a client certificate", lambda: no_cert.health())


def records(folder: pathlib.Path) -> dict[str, list[dict]]:
    out = {}
    for f in sorted(folder.glob("*.jsonl")):
        out[f.name] = [json.loads(line) for line in f.read_text().splitlines() if line.endswith("}")]
    return out


def run_batch(pods: Pods, render: Render, histories_file: pathlib.Path) -> None:
    job = render.of("Job")[0]
    spec = job["spec"]
    pod = spec["template"]["spec"]
    shards = spec["completions"]
    claim = next(v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v)
    data = pods.claim(claim)
    (data / "input").mkdir(exist_ok=True)
    (data / "input" / "histories.jsonl").write_text(histories_file.read_text())

    def start(index: int, attempt: int) -> str:
        name = f"{job['metadata']['name']}-{index}-{attempt}"
        return pods.run(name, pod, extra_env={"SHARD": str(index), "JOB_COMPLETION_INDEX": str(index)}, args_subst={"SHARD": str(index)})

    running = {i: start(i, 0) for i in range(shards)}
    # Kill index 0 once it has recorded a few steps of a trajectory, before it finishes.
    victim = data / "out" / "shard-0"
    deadline = time.monotonic() + 120
    while True:
        recs = records(victim / "records") if (victim / "records").exists() else {}
        if any(len(events) >= 4 for events in recs.values()):
            break
        if not pods.state(running[0]).get("Running"):
            fail(f"shard 0 ended before it could be killed mid-run:\n{pods.logs(running[0])}")
        if time.monotonic() > deadline:
            fail("shard 0 recorded nothing")
        time.sleep(0.05)
    subprocess.run([*pods.podman, "kill", "--signal", "KILL", running[0]], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*pods.podman, "wait", running[0]], check=True, stdout=subprocess.DEVNULL)
    before = records(victim / "records")
    done_before = (victim / "trajectories.jsonl").read_text().count("\n") if (victim / "trajectories.jsonl").exists() else 0
    print(f"  batch index 0 killed with {sum(map(len, before.values()))} events recorded, {done_before} trajectories written")
    # The replacement pod of the same index (podReplacementPolicy: Failed: only now).
    running[0] = start(0, 1)
    deadline = time.monotonic() + 240
    for i, name in running.items():
        while pods.state(name).get("Running"):
            if time.monotonic() > deadline:
                fail(f"batch index {i} did not finish:\n{pods.logs(name)}")
            time.sleep(0.2)
        code = pods.state(name).get("ExitCode")
        if code != 0:
            fail(f"batch index {i} exited {code}:\n{pods.logs(name)}")
    after = records(victim / "records")
    for fname, events in before.items():
        final = after.get(fname, [])
        # A step proposed but without its verdict is dropped and proposed
        # again; everything else recorded before the kill is kept as is.
        kept = [e for e in events if e in final]
        if len(kept) < len(events) - 1 or final[: len(kept)] != kept:
            fail(f"{fname}: the resumed log does not continue the one before the kill")
        seqs = [e["seq"] for e in final]
        if seqs != list(range(len(final))):
            fail(f"{fname}: sequence {seqs} repeats or skips a step")
    total = 0
    for i in range(shards):
        lines = (data / "out" / f"shard-{i}" / "trajectories.jsonl").read_text().splitlines()
        ids = [json.loads(line)["trajectory_id"] for line in lines]
        if len(ids) != len(set(ids)):
            fail(f"shard {i}: a trajectory is written twice")
        total += len(ids)
    expected = len(histories_file.read_text().splitlines())
    if total != expected:
        fail(f"the shards wrote {total} trajectories for {expected} histories")
    print(f"  batch: {shards} indexes complete, {total} trajectories; index 0 resumed from its records")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--render", type=pathlib.Path, required=True)
    ap.add_argument("--work", type=pathlib.Path, required=True)
    ap.add_argument("--histories", type=pathlib.Path, required=True)
    ap.add_argument("podman", nargs="+")
    a = ap.parse_args()
    render = Render(a.render)
    pods = Pods(render, a.work, a.podman)
    deployments = render.of("Deployment")
    for d in deployments:
        spec = d["spec"]["template"]["spec"]
        if spec.get("enableServiceLinks") is not False:
            fail(f"{d['metadata']['name']}: enableServiceLinks is not false")
        pods.run(d["metadata"]["name"], spec)
    for d in deployments:
        check_probes(pods, d["metadata"]["name"], d["spec"]["template"]["spec"]["containers"][0])
    synthesize_and_distill(render, history_from_json(a.histories.read_text().splitlines()[0]))
    run_batch(pods, render, a.histories)


if __name__ == "__main__":
    main()
