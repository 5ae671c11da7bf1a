"""Reading versions back: profile, deterministic samples, and diffs between two versions.

Versions are immutable and content-addressed, so their shards are cached on local disk by
``<dataset>/<version>`` without invalidation; the manifest, written last, marks a complete copy.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from llmops_common.storage import ArtifactStore
from llmops_ingestion.domain.model import DatasetVersion

DEFAULT_SAMPLE = 10
MAX_SAMPLE = 1000


@dataclass(frozen=True)
class VersionDiff:
    added_count: int
    removed_count: int
    unchanged_count: int
    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]


class VersionReader:
    def __init__(self, artifacts: ArtifactStore, cache_dir: Path) -> None:
        self.artifacts, self.cache_dir = artifacts, cache_dir

    def profile(self, version: DatasetVersion) -> dict[str, Any]:
        return json.loads(self.artifacts.get_bytes(version.profile_uri))

    def sample(self, version: DatasetVersion, split: str | None, limit: int, seed: int) -> list[dict[str, Any]]:
        """``limit`` records chosen by a seeded hash of their ids: the same seed gives the same sample."""
        limit = min(limit or DEFAULT_SAMPLE, MAX_SAMPLE)
        folder, shards = self._shards(version, split)
        all_ids = _record_ids(folder, shards)
        if not all_ids.size:
            return []
        salt = seed.to_bytes(8, "big", signed=True)
        keys = np.array([hashlib.blake2b(salt + rid.encode(), digest_size=8).digest() for rid in all_ids], dtype="S8")
        rank = {rid: i for i, rid in enumerate(all_ids[np.argsort(keys, kind="stable")[:limit]].tolist())}
        return sorted(self._rows(folder, shards, set(rank)), key=lambda r: rank[r["record_id"]])

    def diff(self, older: DatasetVersion, newer: DatasetVersion, limit: int) -> VersionDiff:
        """Counts of records added, removed and kept (by record id), with samples of each change."""
        limit = min(limit or DEFAULT_SAMPLE, MAX_SAMPLE)
        old_ids, new_ids = self._ids(older), self._ids(newer)
        added = np.setdiff1d(new_ids, old_ids)
        removed = np.setdiff1d(old_ids, new_ids)
        unchanged = new_ids.size - added.size
        return VersionDiff(int(added.size), int(removed.size), int(unchanged),
                           self._pick(newer, set(added[:limit].tolist())),
                           self._pick(older, set(removed[:limit].tolist())))

    # -- internals ---------------------------------------------------------------------------

    def _ids(self, version: DatasetVersion) -> np.ndarray:
        return np.unique(_record_ids(*self._shards(version)))

    def _pick(self, version: DatasetVersion, ids: set[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        return sorted(self._rows(*self._shards(version), ids), key=lambda r: r["record_id"])

    @staticmethod
    def _rows(folder: Path, shards: list[dict[str, Any]], ids: set[str]) -> list[dict[str, Any]]:
        wanted = list(ids)
        rows: list[dict[str, Any]] = []
        for shard in shards:
            table = pq.read_table(folder / shard["path"])
            rows += table.filter(pc.is_in(table.column("record_id"),
                                          value_set=pa.array(wanted, pa.string()))).to_pylist()
        return rows

    def _shards(self, version: DatasetVersion, split: str | None = None) -> tuple[Path, list[dict[str, Any]]]:
        """The local copy's folder and its shards (of one split, if given)."""
        folder = self._folder(version)
        shards = json.loads((folder / "manifest.json").read_text())["shards"]
        return folder, [s for s in shards if split is None or s["split"] == split]

    def _folder(self, version: DatasetVersion) -> Path:
        folder = self.cache_dir / version.dataset_name / version.version
        if (folder / "manifest.json").exists():
            return folder
        partial = folder.with_name(f"{version.version}.partial-{uuid.uuid4().hex}")  # concurrent readers
        manifest = json.loads(self.artifacts.get_bytes(version.manifest_uri))
        for shard in manifest["shards"]:
            self.artifacts.get_file(f"{version.uri}{shard['path']}", partial / shard["path"])
        (partial / "manifest.json").write_text(json.dumps(manifest))
        try:
            partial.rename(folder)
        except OSError:  # another reader finished first: its copy is the same content
            shutil.rmtree(partial, ignore_errors=True)
        return folder


def _record_ids(folder: Path, shards: list[dict[str, Any]]) -> np.ndarray:
    columns = [pq.read_table(folder / s["path"], columns=["record_id"]).column(0).to_numpy(zero_copy_only=False)
               for s in shards]
    return np.concatenate(columns) if columns else np.array([], dtype=object)
