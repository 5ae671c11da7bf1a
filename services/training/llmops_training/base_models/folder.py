"""Checks a local Hugging Face causal-LM folder passes before it is imported, and its manifest.

The folder must hold a ``config.json`` naming a causal-LM architecture transformers knows, weights
as ``*.safetensors`` only (pickled ``.bin``/``.pt`` weights run code when loaded), and tokenizer
files. Every entry is bounded and checked: names (a safe character set, no NUL), depth, file count,
sizes, entries listed, symlinks (only to files inside the folder), special files. Hidden entries (``.git``,
``.cache``, ``.gitattributes``) are skipped, not uploaded. Each error names the file.

The manifest's digest is the one ``ArtifactStore.describe`` computes for a folder in S3 (sorted
``relative-path sha256 size`` lines), so the registry records the same sha256 the import computed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

from llmops_common.errors import InvalidArgument
from llmops_common.hashing import file_sha256
from llmops_common.validation import quote

NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+=-]{0,199}")
PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"})
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")
MAX_CONFIG_BYTES = 1024 * 1024
MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024  # the limit the safetensors format itself sets


@dataclass(frozen=True)
class FolderLimits:
    max_files: int = 256
    max_file_bytes: int = 64 * 1024**3
    max_total_bytes: int = 512 * 1024**3
    max_depth: int = 4
    max_entries: int = 4096  # files, folders and hidden entries, all listed


@dataclass(frozen=True)
class ManifestEntry:
    path: str  # relative, with "/"
    size: int
    sha256: str


@dataclass(frozen=True)
class FolderManifest:
    root: Path
    files: tuple[ManifestEntry, ...]  # sorted by path
    architecture: str
    model_type: str
    skipped: tuple[str, ...]  # hidden entries left out

    @property
    def sha256(self) -> str:
        lines = "".join(f"{f.path} {f.sha256} {f.size}\n" for f in self.files)
        return hashlib.sha256(lines.encode()).hexdigest()

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def _refuse(rel: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"{rel}: {why}", field="path")


def _walk(root: Path, limits: FolderLimits) -> tuple[list[tuple[str, Path, int]], list[str]]:
    """(relative path, path, size) of every file, and the hidden entries skipped; refuses odd entries."""
    files: list[tuple[str, Path, int]] = []
    skipped: list[str] = []
    pending, listed = [(root, "", 0)], 0
    while pending:
        folder, prefix, depth = pending.pop()
        with os.scandir(folder) as scan:
            entries = list(itertools.islice(scan, limits.max_entries - listed + 1))
        listed += len(entries)
        if listed > limits.max_entries:
            raise _refuse(prefix or "./", f"the folder holds more than {limits.max_entries} entries in all")
        for entry in sorted(entries, key=lambda e: e.name):
            rel = f"{prefix}{entry.name}"
            if entry.name.startswith("."):
                skipped.append(rel)
                continue
            if not NAME.fullmatch(entry.name):
                raise _refuse(quote(rel), "odd file name: use letters, digits and . _ + = - (not first), "
                                          "at most 200 characters")
            info = _entry_stat(root, rel, Path(entry.path))
            if stat.S_ISDIR(info.st_mode):
                if depth + 1 > limits.max_depth:
                    raise _refuse(rel, f"nested deeper than {limits.max_depth} folders")
                pending.append((Path(entry.path), f"{rel}/", depth + 1))
                continue
            if not stat.S_ISREG(info.st_mode):
                raise _refuse(rel, "not a regular file (a device, socket or pipe)")
            if len(files) >= limits.max_files:
                raise _refuse(rel, f"the folder holds more than {limits.max_files} files")
            if info.st_size > limits.max_file_bytes:
                raise _refuse(rel, f"{info.st_size:,} bytes; at most {limits.max_file_bytes:,} per file")
            files.append((rel, Path(entry.path), info.st_size))
    return sorted(files), sorted(skipped)


def _entry_stat(root: Path, rel: str, path: Path) -> os.stat_result:
    """The entry's own stat, or its target's for a symlink to a file inside the folder."""
    if not path.is_symlink():
        return path.lstat()
    target = path.resolve()
    if not target.is_relative_to(root):
        raise _refuse(rel, "a symlink that leaves the folder")
    if not target.exists():
        raise _refuse(rel, "a dangling symlink")
    if target.is_dir():
        raise _refuse(rel, "a symlink to a folder (copy the folder instead)")
    return target.stat()


def _read_config(root: Path, names: set[str]) -> tuple[str, str]:
    """(architecture, model_type) from ``config.json``: a causal LM transformers knows."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    if "config.json" not in names:
        raise _refuse("config.json", "missing: a Hugging Face model folder has its config.json at the top")
    path = root / "config.json"
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise _refuse("config.json", f"larger than {MAX_CONFIG_BYTES:,} bytes")
    try:
        config = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise _refuse("config.json", f"not valid JSON ({str(exc)[:80]})") from None
    if not isinstance(config, dict):
        raise _refuse("config.json", "must hold a JSON object")
    model_type, architectures = config.get("model_type"), config.get("architectures")
    if not isinstance(model_type, str) or model_type not in CONFIG_MAPPING_NAMES:
        raise _refuse("config.json", f"model_type {quote(str(model_type))} is not one transformers knows")
    if not (isinstance(architectures, list) and architectures and all(isinstance(a, str) for a in architectures)):
        raise _refuse("config.json", "architectures must be a non-empty list of class names")
    known = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())
    causal = [a for a in architectures if a in known]
    if not causal:
        raise _refuse("config.json", f"architectures {quote(', '.join(architectures))} name no causal-LM class "
                                     "transformers knows (e.g. LlamaForCausalLM)")
    return causal[0], model_type


def _check_weights(root: Path, names: set[str]) -> None:
    """At least one ``*.safetensors`` file, each with a readable header; shards an index names exist."""
    weights = sorted(n for n in names if n.endswith(".safetensors"))
    if not weights:
        raise _refuse("model.safetensors", "missing: no *.safetensors weights in the folder")
    for name in weights:
        with (root / name).open("rb") as f:
            head = f.read(8)
            length = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
            if not 0 < length <= min(MAX_SAFETENSORS_HEADER, (root / name).stat().st_size - 8):
                raise _refuse(name, "not a safetensors file (bad header length)")
            try:
                json.loads(f.read(length))
            except (ValueError, UnicodeDecodeError):
                raise _refuse(name, "not a safetensors file (unreadable header)") from None
    index = "model.safetensors.index.json"
    if index in names:
        try:
            shards = set(json.loads((root / index).read_bytes())["weight_map"].values())
        except (ValueError, KeyError, TypeError, AttributeError):
            raise _refuse(index, "not a valid safetensors index (no weight_map)") from None
        missing = sorted(str(shard) for shard in shards - names)
        if missing:
            raise _refuse(index, f"names shard {quote(missing[0])}, which is not in the folder")


def validate_model_folder(path: Path, limits: FolderLimits | None = None) -> FolderManifest:
    """Check ``path`` and return its manifest (every file's size and sha256); InvalidArgument naming the
    file otherwise."""
    limits = limits or FolderLimits()
    root = path.resolve()
    if not root.is_dir():
        raise InvalidArgument(f"{quote(str(path))} is not a folder", field="path")
    files, skipped = _walk(root, limits)
    total = sum(size for _, _, size in files)
    if total > limits.max_total_bytes:
        raise InvalidArgument(f"the folder holds {total:,} bytes; at most {limits.max_total_bytes:,}", field="path")
    for rel, _, _ in files:
        if Path(rel).suffix in PICKLE_SUFFIXES:
            raise _refuse(rel, "pickled weights run arbitrary code when loaded; convert them to safetensors "
                               "(e.g. save_pretrained) and leave the pickle out")
    top = {rel for rel, _, _ in files if "/" not in rel}
    architecture, model_type = _read_config(root, top)
    _check_weights(root, top)
    if "tokenizer_config.json" not in top or not top.intersection(TOKENIZER_FILES):
        raise _refuse("tokenizer_config.json", f"tokenizer files missing: need tokenizer_config.json and one of "
                                               f"{', '.join(TOKENIZER_FILES)}")
    entries = tuple(ManifestEntry(rel, size, file_sha256(p)) for rel, p, size in files)
    return FolderManifest(root, entries, architecture, model_type, tuple(skipped))
