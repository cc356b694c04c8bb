#!/usr/bin/env python3
"""Serve a GGUF model over an OpenAI-compatible HTTP API on loopback (the embedded
default model; README.md, "What to expect from the embedded model").

Runs llama.cpp's server in-process through the pinned `xllamacpp` wheel (installed into
.models/venv by scripts/setup-model.sh), so no llama.cpp binary has to be built or fetched.

    python serve_model.py --model PATH --host 127.0.0.1 --port N \
        [--ctx-size 8192] [--parallel 4] [--threads 2] [--alias NAME]

Endpoints: /v1/chat/completions, /v1/models, /health (200 once the model is loaded).
Prints `ready http://HOST:PORT/v1` on stdout once serving, then blocks until SIGTERM or
SIGINT and shuts the server down cleanly (exit 0). Errors: one line on stderr, exit 1.
The crate `productresearch-local-model` supervises this script as a child process.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import ipaddress
import threading
from pathlib import Path
from typing import NoReturn

# Bounded so a wedged llama.cpp loop cannot keep a supervisor waiting forever.
SHUTDOWN_GRACE_SECS = 10.0


def fail(message: str) -> NoReturn:
    print(f"serve_model: error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, type=Path, help="path to the .gguf file")
    p.add_argument("--host", default="127.0.0.1", help="listen address (keep it loopback)")
    p.add_argument("--port", required=True, type=int, help="listen port")
    p.add_argument("--ctx-size", type=int, default=8192,
                   help="KV cache size in tokens, shared by all slots (one request may use all of it)")
    p.add_argument("--parallel", type=int, default=4, help="concurrent requests (slots)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for generation and prompt processing")
    p.add_argument("--alias", default=None,
                   help="model id reported by /v1/models (default: the gguf file stem)")
    p.add_argument("--allow-non-loopback", action="store_true",
                   help="allow a non-loopback --host (the server has no authentication)")
    a = p.parse_args(argv)
    if not (a.allow_non_loopback or is_loopback(a.host)):
        fail(f"refusing to listen on non-loopback host {a.host!r} (no authentication); pass --allow-non-loopback to override")
    if not a.model.is_file():
        fail(f"model file not found: {a.model}")
    if not 0 <= a.port <= 65535:
        fail(f"invalid port {a.port}")
    for name in ("ctx_size", "parallel", "threads"):
        if getattr(a, name) < 1:
            fail(f"--{name.replace('_', '-')} must be at least 1")
    return a


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_params(xllamacpp, a: argparse.Namespace):
    params = xllamacpp.CommonParams()
    params.model.path = str(a.model)
    params.model_alias = {a.alias or a.model.stem}
    params.hostnames = [a.host]
    params.port = a.port
    params.n_ctx = a.ctx_size
    params.n_parallel = a.parallel
    # Unified KV cache: slots share ctx-size tokens instead of each getting ctx/parallel,
    # so one long agent prompt can use the whole context.
    params.kv_unified = True
    params.cpuparams.n_threads = a.threads
    params.cpuparams_batch.n_threads = a.threads
    # No busy-waiting between ops (llama.cpp's default is 50): on a small shared machine
    # spinning threads starve builds and each other; measured here it costs nothing idle
    # and avoided 2-3x slowdowns while cargo was compiling.
    params.cpuparams.poll = 0
    params.cpuparams_batch.poll = 0
    # Chat templates from the gguf (needed for tool calls and the model's own format).
    params.use_jinja = True
    params.enable_chat_template = True
    params.ui = False  # no web UI: this is an API for the mesh only
    return params


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    try:
        import xllamacpp
    except ImportError as e:
        fail(f"cannot import xllamacpp ({e}): run scripts/setup-model.sh and use .models/venv/bin/python")

    # llama.cpp reports a busy port only as a generic init failure: check it first so the
    # error says so (the supervisor retries on another port when it sees "cannot bind").
    if a.port != 0:
        try:
            with socket.socket(socket.AF_INET6 if ":" in a.host else socket.AF_INET) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((a.host, a.port))
        except OSError as e:
            fail(f"cannot bind {a.host}:{a.port}: {e.strerror or e}")

    try:
        params = build_params(xllamacpp, a)
        # Blocks until the HTTP socket is bound and the model is loaded.
        server = xllamacpp.Server(params)
    except Exception as e:  # xllamacpp raises RuntimeError with a generic message
        fail(f"cannot start the model server on {a.host}:{a.port} with {a.model}: {e}")

    # llama.cpp installs its own SIGINT/SIGTERM handlers while starting; they stop its loop
    # but would leave this thread blocked. Take the signals back so shutdown runs here.
    stop = threading.Event()

    def on_signal(signum, _frame):
        if stop.is_set():  # second signal: give up on a graceful stop
            os._exit(1)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    port = a.port
    addr = getattr(server, "listening_address", "") or ""
    if addr.rsplit(":", 1)[-1].isdigit():  # e.g. "http://127.0.0.1:41234" (port 0 → real port)
        port = int(addr.rsplit(":", 1)[-1])
    host = f"[{a.host}]" if ":" in a.host else a.host
    print(f"ready http://{host}:{port}/v1", flush=True)

    # Short waits: a signal delivered to one of llama.cpp's threads only runs our handler
    # once this thread wakes up.
    while not stop.wait(0.25):
        pass

    # Deleting the Server terminates llama.cpp's loop, stops HTTP and joins its threads.
    # The bound is the kernel's alarm, not a Python timer: the destructor holds the GIL,
    # so a timer thread never runs while it hangs (seen: a slot mid-generation kept
    # "waiting for main loop exit" for minutes). SIGALRM's default action ends the process.
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(int(SHUTDOWN_GRACE_SECS))
    del server
    signal.alarm(0)
    print("serve_model: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
