#!/usr/bin/env bash
# The chart's pods as real containers, run by scripts/test.sh (offline: no
# registry image is used, the network is the host's loopback only):
#   1. installs podman, buildah, runc and catatonit from Debian when missing
#      (scripts/ci-tools.sh);
#   2. builds a base image from nothing but the host's shared libraries the
#      binaries link (ldd), and the six images from docker/Dockerfile with the
#      debug binaries of the test build (BINARIES=prebuilt, BASE_IMAGE);
#   3. starts the simulated model (sim-llm) on 127.0.0.1, renders the chart
#      against it (ci/containers-values.yaml: one port per pod, as every pod
#      shares the host network here) and hands the render to
#      scripts/kube_pods.py, which runs each Deployment as a container the way
#      a kubelet would (env incl. service links, mounted ConfigMaps and
#      Secrets, the pod's user), checks the gRPC probes, runs a Synthesize and
#      a Distill through the pods over mutual TLS with the bearer token, and
#      runs the batch Job's indexes to completion, one killed mid-run and
#      restarted.
# Containers use --network host only (never a bridge); podman's state lives
# in a temporary folder that is removed at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$SECONDS

source scripts/ci-tools.sh
install_containers
install_k8s_tools
install_pyclient_package

bins=(user-agent supervisor research-agent tool-gateway distiller productresearch)
build_binaries
target=${CARGO_TARGET_DIR:-target}/debug

work=$(mktemp -d /tmp/pr-containers.XXXXXX)
cat >"$work/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=20000:20000"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF=$work/containers.conf
store=(--root "$work/root" --runroot "$work/run" --storage-driver overlay)
sim_pid=
cleanup() {
  [[ -n $sim_pid ]] && kill "$sim_pid" 2>/dev/null || true
  podman "${store[@]}" rm -af -t 0 >/dev/null 2>&1 || true
  buildah "${store[@]}" rm -a >/dev/null 2>&1 || true
  podman "${store[@]}" system reset -f >/dev/null 2>&1 || true
  # Whatever storage mounts are left (deepest first), then the folder.
  awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== base image from the host's libraries"
base=localhost/productresearch-base:ci
ctr=$(buildah "${store[@]}" from scratch)
root=$(buildah "${store[@]}" mount "$ctr")
for bin in "${bins[@]}"; do ldd "$target/$bin"; done | grep -o '/[^ ]*' | sort -u | while read -r lib; do
  cp --parents -L "$lib" "$root/"
done
mkdir -p "$root/etc/ssl/certs" "$root/tmp" "$root/home/nonroot"
# The CA bundle, as distroless has it (the HTTP clients load it at start).
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
chmod 1777 "$root/tmp"
chown 65532:65532 "$root/home/nonroot"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
# Names resolve from /etc/hosts only: nothing leaves the machine.
printf 'hosts: files\n' >"$root/etc/nsswitch.conf"
buildah "${store[@]}" umount "$ctr" >/dev/null
buildah "${store[@]}" config --user 65532:65532 "$ctr"
buildah "${store[@]}" commit --quiet "$ctr" "$base" >/dev/null
buildah "${store[@]}" rm "$ctr" >/dev/null

echo "== images from docker/Dockerfile (prebuilt debug binaries, stripped)"
ctx=$work/context
mkdir -p "$ctx/.prebuilt"
cp -r demo "$ctx/demo"
for bin in "${bins[@]}"; do strip --strip-debug -o "$ctx/.prebuilt/$bin" "$target/$bin"; done
for bin in "${bins[@]}"; do
  buildah "${store[@]}" bud --quiet --layers --pull-never -f docker/Dockerfile --ignorefile docker/Dockerfile.dockerignore \
    --build-arg BASE_IMAGE="$base" --build-arg BINARIES=prebuilt --build-arg PREBUILT_DIR=.prebuilt \
    --target "$bin" -t "localhost/productresearch/$bin:ci" "$ctx" >/dev/null
done
echo "images built in $((SECONDS - start)) s"

echo "== the chart's pods"
"$target/sim-llm" --listen 127.0.0.1:0 --latency-ms 20 >"$work/sim-llm.out" 2>"$work/sim-llm.log" &
sim_pid=$!
for _ in $(seq 100); do grep -q listening "$work/sim-llm.out" && break; sleep 0.1; done
model_url=$(sed -n 's/^sim-llm listening on //p' "$work/sim-llm.out")
[[ -n $model_url ]] || { echo "test-containers: sim-llm did not start" >&2; cat "$work/sim-llm.log" >&2; exit 1; }
"$HELM" template pr k8s/productresearch --namespace productresearch --kube-version "$KUBE_VERSION" \
  -f k8s/productresearch/ci/containers-values.yaml --set model.baseUrl="$model_url" >"$work/render.yaml"
"$PYCLIENT_VENV/bin/python" scripts/kube_pods.py --render "$work/render.yaml" --work "$work" \
  --histories demo/histories.jsonl -- podman "${store[@]}"
echo "test-containers: ok in $((SECONDS - start)) s"
