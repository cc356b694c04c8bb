"""Generates the gRPC/protobuf modules of productresearch_client from proto/.

Run before installing or testing (scripts/test-python-client.sh does):

    python clients/python/generate.py

Writes src/productresearch_client/_pb/ (not committed): *_pb2.py, *_pb2_grpc.py
and *.pyi type stubs for every .proto under proto/productresearch, with their
imports rewritten so the generated packages live under productresearch_client._pb.
"""

from __future__ import annotations

import pathlib
import re
import shutil
import sys

from grpc_tools import protoc
import grpc_tools

HERE = pathlib.Path(__file__).resolve().parent
PROTO_ROOT = HERE.parent.parent / "proto"
OUT = HERE / "src" / "productresearch_client" / "_pb"
IMPORT = re.compile(r"^(from|import) productresearch(\.| )", re.MULTILINE)


def main() -> int:
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / "productresearch").rglob("*.proto"))
    if not protos:
        print(f"generate.py: no .proto files under {PROTO_ROOT}", file=sys.stderr)
        return 1
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    well_known = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={OUT}",
        f"--pyi_out={OUT}",
        f"--grpc_python_out={OUT}",
        *protos,
    ]
    if protoc.main(args) != 0:
        print("generate.py: protoc failed", file=sys.stderr)
        return 1
    for path in OUT.rglob("*.py*"):
        text = path.read_text()
        fixed = IMPORT.sub(lambda m: f"{m.group(1)} productresearch_client._pb.productresearch{m.group(2)}", text)
        if fixed != text:
            path.write_text(fixed)
    for folder in [OUT, *[p for p in OUT.rglob("*") if p.is_dir()]]:
        (folder / "__init__.py").touch()
    print(f"generated {len(protos)} protos into {OUT.relative_to(HERE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
