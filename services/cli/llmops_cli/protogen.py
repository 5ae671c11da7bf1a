"""Compile ``protos/`` into the one generated package (``libs/gen/llmops``) with grpcio-tools,
with ``.pyi`` stubs. ``check`` compiles into a temporary folder and lists what differs."""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from pathlib import Path

GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def repo_root() -> Path:
    return Path(__file__).resolve().parents[3]


def run_protoc(proto_root: Path, *options: str) -> None:
    """Run grpcio-tools' protoc over every ``.proto`` under ``proto_root`` with the given output options."""
    import grpc_tools
    from grpc_tools import protoc

    protos = sorted(str(p.relative_to(proto_root)) for p in proto_root.rglob("*.proto"))
    if not protos:
        raise RuntimeError(f"no .proto files under {proto_root}")
    include = Path(grpc_tools.__file__).parent / "_proto"
    args = ["protoc", f"-I{proto_root}", f"-I{include}", *options, *protos]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed: " + " ".join(args))


def compile_protos(proto_root: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    run_protoc(proto_root, f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}")


def _generated(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in root.rglob("*") if p.name.endswith(GENERATED_SUFFIXES)}


def generate(root: Path | None = None) -> Path:
    root = root or repo_root()
    out = root / "libs" / "gen"
    shutil.rmtree(out / "llmops", ignore_errors=True)
    compile_protos(root / "protos", out)
    return out


def stale_files(root: Path | None = None) -> list[str]:
    """Generated files that are missing, extra, or differ from a fresh compile."""
    root = root or repo_root()
    with tempfile.TemporaryDirectory() as tmp:
        compile_protos(root / "protos", Path(tmp))
        fresh, committed = _generated(Path(tmp)), _generated(root / "libs" / "gen")
        differ = [name for name in fresh.keys() & committed.keys()
                  if not filecmp.cmp(fresh[name], committed[name], shallow=False)]
        return sorted(set(fresh) ^ set(committed)) + sorted(differ)
