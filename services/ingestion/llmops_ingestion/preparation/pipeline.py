"""The preparation pipeline: raw files on local disk -> a content-addressed dataset version folder.

Pass 1 streams the records in batches through shape mapping, normalisation, length filters, PII
redaction and exact dedup, spilling survivors to a local Parquet file. In memory it keeps per record
only a 16-byte hash, its length and shingle count (and the exact-dedup set); the LSH band keys go to
one file per band, the signatures' one-byte-per-permutation fingerprints to another and the shingle
hashes to a third. Near-duplicate selection (``neardup``) then reads one band at a time and verifies
candidates against the memory-mapped shingles, the version id follows from the surviving record
hashes and the config, and pass 2
(skipped when that version already exists) assigns splits, writes the Parquet shards and the
manifest, and builds the profile. No record, line or file is ever held whole in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from llmops_ingestion.domain import profile as eda
from llmops_ingestion.domain.config import BadRecordPolicy, PreparationConfig
from llmops_ingestion.domain.formats import DataFormat
from llmops_ingestion.domain.limits import ExpansionLimit
from llmops_ingestion.domain.minhash import MinHashScheme, fingerprint
from llmops_ingestion.domain.neardup import NearDuplicates, Shingles, completeness_rank, select
from llmops_ingestion.domain.pii import PiiRedactor
from llmops_ingestion.domain.shapes import Content, Shape, ShapeError, ShapeMapper, detect_shape, record_text
from llmops_ingestion.domain.splits import split_of
from llmops_ingestion.domain.text import make_normalizer
from llmops_ingestion.preparation.decompress import expand
from llmops_ingestion.preparation.readers import BadInput, BadRecord, RawRecord, detect_format, read_records
from llmops_ingestion.preparation.tokens import TokenCounter
from llmops_ingestion.preparation.writer import ShardWriter

BATCH_RECORDS = 4096
# Compressed inputs are decompressed (streaming, through pyarrow's codecs, within caps) before they are read.
COMPRESSIONS = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd", ".lz4": "lz4"}
STEP_NAMES = ("parse", "shape", "normalize", "length_filter", "pii", "exact_dedup", "near_dedup", "split")


class PreparationFailed(Exception):
    """The job cannot produce a version; the message names the file, the line and the problem."""

    def __init__(self, problem: str, *, file: str | None = None, line: int | None = None) -> None:
        self.file, self.line, self.problem = file, line, problem
        where = f"{file}:{line}: " if file and line else f"{file}: " if file else ""
        super().__init__(f"{where}{problem}")


@dataclass(frozen=True)
class SourceFile:
    path: Path
    name: str
    format: DataFormat | None = None


@dataclass(frozen=True)
class Progress:
    records_read: int
    bytes_read: int
    total_bytes: int
    step: str


@dataclass
class Outcome:
    """What a preparation produced. ``folder`` is None when the version already existed."""

    version: str
    shape: Shape
    record_count: int
    split_counts: dict[str, int]
    steps: list[dict[str, Any]]
    folder: Path | None
    profile: dict[str, Any] | None


@dataclass
class _State:
    """Pass-1 state, kept compact: per-record numpy chunks and counters."""

    steps: dict[str, eda.StepCounts] = field(default_factory=lambda: {s: eda.StepCounts(s) for s in STEP_NAMES})
    seen: set[bytes] = field(default_factory=set)
    exact_clusters: dict[bytes, list[Any]] = field(default_factory=dict)
    record_ids: list[np.ndarray] = field(default_factory=list)
    has_shingles: list[np.ndarray] = field(default_factory=list)
    lengths: list[np.ndarray] = field(default_factory=list)
    shingle_counts: list[np.ndarray] = field(default_factory=list)
    filled: Counter[str] = field(default_factory=Counter)
    pii_counts: Counter[str] = field(default_factory=Counter)
    bad_count: int = 0
    bad_samples: list[dict[str, Any]] = field(default_factory=list)
    records_read: int = 0
    raw_records: int = 0


class Preparation:
    """One ingestion's preparation; ``run`` does the work in ``workdir`` (a scratch folder)."""

    def __init__(self, config: PreparationConfig, *, shape: Shape | None = None,
                 column_mapping: dict[str, str] | None = None, workdir: Path,
                 max_record_bytes: int = 8 * 1024 * 1024, expansion: ExpansionLimit = ExpansionLimit(),
                 shard_records: int = 250_000,
                 on_progress: Callable[[Progress], None] = lambda _: None) -> None:
        self.config = config
        self.mapping = dict(column_mapping or {})
        self.workdir = workdir
        self.max_record_bytes = max_record_bytes
        self.expansion = expansion
        self.shard_records = shard_records
        self.on_progress = on_progress
        self.normalize = make_normalizer(config.normalize.form)
        self.tokens = TokenCounter(config.length_filter.tokenizer)
        self.redactor = PiiRedactor(config.pii.kinds or None, config.pii.phone_regions)
        self.scheme = MinHashScheme(config.dedup.threshold, config.dedup.num_perm, config.dedup.shingle_size)
        self.mapper: ShapeMapper | None = ShapeMapper(shape, self.mapping) if shape else None
        self.state = _State()
        self._spill: pq.ParquetWriter | None = None
        self._current_file: IO[bytes] | None = None
        self._near_files: list[IO[bytes]] = []
        self._done_bytes = 0

    # ------------------------------------------------------------------ entry point

    def run(self, files: list[SourceFile], *, version_exists: Callable[[str], bool],
            source: dict[str, Any]) -> Outcome:
        total_bytes = sum(f.path.stat().st_size for f in files)
        self.workdir.mkdir(parents=True, exist_ok=True)
        spill_path = self.workdir / "spill.parquet"
        if self.config.dedup.near:  # per record, on disk: fingerprints, one key file per band, shingles
            self._near_files = [self._near_path(i).open("wb") for i in range(self.scheme.bands + 2)]
        for batch in _batched(self._records(files), BATCH_RECORDS):
            self._prepare_batch(batch, spill_path)
            self.on_progress(Progress(self.state.records_read, self._bytes_read(), total_bytes, "prepare"))
        if self._spill is not None:
            self._spill.close()
        self._check_not_empty(files)
        self.on_progress(Progress(self.state.records_read, total_bytes, total_bytes, "near_dedup"))
        record_ids = np.concatenate(self.state.record_ids)
        near = self._near_duplicates(record_ids)
        kept = near.kept
        version = self._version_id(record_ids[kept])
        count = int(kept.sum())
        if version_exists(version):
            return Outcome(version, self.mapper.shape, count, {}, self._steps(), None, None)
        self.on_progress(Progress(self.state.records_read, total_bytes, total_bytes, "write"))
        folder = self.workdir / "version"
        split_counts, profile = self._write(spill_path, near, record_ids, folder, version, source)
        return Outcome(version, self.mapper.shape, count, split_counts, self._steps(), folder, profile)

    # ------------------------------------------------------------------ pass 1

    def _records(self, files: list[SourceFile]) -> Iterator[RawRecord]:
        state = self.state
        for index, source in enumerate(files):
            try:
                path, inner_name = self._decompressed(source, index)
                fmt = source.format or detect_format(path, inner_name, shown=source.name)
                for item in read_records(path, name=source.name, fmt=fmt,
                                         max_record_bytes=self.max_record_bytes, on_open=self._opened):
                    state.records_read += 1
                    if isinstance(item, BadRecord):
                        self._bad(item.file, item.line, item.problem, "parse")
                    else:
                        yield item
            except BadInput as exc:
                raise PreparationFailed(exc.problem, file=exc.file, line=exc.line) from None
            self._done_bytes += source.path.stat().st_size
            self._current_file = None

    def _decompressed(self, source: SourceFile, index: int) -> tuple[Path, str]:
        """(path to read, name to detect the format by): compressed files are expanded into the workdir."""
        suffix = Path(source.name).suffix.lower()
        codec = COMPRESSIONS.get(suffix)
        if codec is None:
            return source.path, source.name
        inner = source.name[: -len(suffix)]
        target = self.workdir / "decompressed" / f"{index:05d}-{Path(inner).name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        expand(source.path, source.name, codec, target, self.expansion)
        return target, inner

    def _near_path(self, index: int) -> Path:
        if index == 0:
            return self.workdir / "fingerprints.u8"
        return self.workdir / ("shingles.u64" if index > self.scheme.bands else f"band-{index:02d}.u64")

    def _opened(self, handle: IO[bytes]) -> None:
        self._current_file = handle

    def _bytes_read(self) -> int:
        handle = self._current_file
        with contextlib.suppress(ValueError, OSError):
            return self._done_bytes + (handle.tell() if handle is not None else 0)
        return self._done_bytes

    def _bad(self, file: str, line: int, problem: str, step: str) -> None:
        if self.config.bad_record_policy is not BadRecordPolicy.SKIP:
            raise PreparationFailed(problem, file=file, line=line)
        state = self.state
        state.bad_count += 1
        state.steps[step].dropped_by_reason["bad_record"] += 1
        if len(state.bad_samples) < eda.BAD_RECORD_SAMPLES:
            state.bad_samples.append({"file": file, "line": line, "problem": problem})

    def _map(self, batch: list[RawRecord]) -> tuple[list[Content], list[RawRecord]]:
        contents, sources = [], []
        filled = self.state.filled
        for raw in batch:
            fields = raw.fields
            try:
                if self.mapper is None:
                    self.mapper = ShapeMapper(detect_shape(fields, self.mapping), self.mapping)
                content = self.mapper.map(fields)
            except ShapeError as exc:
                self._bad(raw.file, raw.line, str(exc), "shape")
                continue
            filled.update(key for key, value in fields.items() if value not in (None, "", [], {}))
            contents.append(content)
            sources.append(raw)
        return contents, sources

    def _prepare_batch(self, batch: list[RawRecord], spill_path: Path) -> None:
        steps, state = self.state.steps, self.state
        state.raw_records += len(batch)
        steps["parse"].records_kept += len(batch)
        contents, sources = self._map(batch)
        steps["shape"].records_kept += len(contents)

        if self.config.normalize.enabled:
            normalized = [tuple(self.normalize(part) for part in content) for content in contents]
            steps["normalize"].records_modified += sum(a != b for a, b in zip(normalized, contents, strict=True))
            contents = normalized
        steps["normalize"].records_kept += len(contents)
        texts = [record_text(c) for c in contents]
        tokens = self.tokens.count(texts)
        chars = [len(t) for t in texts]
        if self.config.length_filter.enabled:
            keep = [self._length_reason(c, t) for c, t in zip(chars, tokens, strict=True)]
            contents, texts, sources, chars, tokens = _filter(keep, contents, texts, sources, chars, tokens)
        steps["length_filter"].records_kept += len(contents)

        if self.config.pii.enabled:
            contents, texts = self._redact(contents, texts)
        steps["pii"].records_kept += len(contents)

        ids = [hashlib.blake2b("\x1f".join(c).encode(), digest_size=16, person=b"llmops-record").digest()
               for c in contents]
        if self.config.dedup.exact:
            keep = [self._first_sighting(rid, text) for rid, text in zip(ids, texts, strict=True)]
            ids, contents, texts, sources, chars, tokens = _filter(keep, ids, contents, texts, sources, chars, tokens)
        steps["exact_dedup"].records_kept += len(contents)
        if not contents:
            return
        self._spill_batch(spill_path, ids, contents, sources, chars, tokens)
        state.record_ids.append(np.frombuffer(b"".join(ids), dtype="S16"))
        if self.config.dedup.near:
            hashes, owners = self.scheme.shingles(texts)
            signatures, has = self.scheme.signatures_of(hashes, owners, len(texts))
            fingerprint(signatures).tofile(self._near_files[0])
            for band, keys in enumerate(self.scheme.band_keys(signatures).T, 1):
                np.ascontiguousarray(keys).tofile(self._near_files[band])
            hashes.tofile(self._near_files[-1])
            state.has_shingles.append(has)
            state.shingle_counts.append(np.bincount(owners, minlength=len(texts)).astype(np.int32))
            state.lengths.append(np.fromiter(map(len, texts), dtype=np.int32, count=len(texts)))

    def _length_reason(self, chars: int, tokens: int) -> str | None:
        step = self.config.length_filter
        if chars < step.min_chars:
            reason = "too_few_chars"
        elif step.max_chars and chars > step.max_chars:
            reason = "too_many_chars"
        elif tokens < step.min_tokens:
            reason = "too_few_tokens"
        elif step.max_tokens and tokens > step.max_tokens:
            reason = "too_many_tokens"
        else:
            return None
        self.state.steps["length_filter"].dropped_by_reason[reason] += 1
        return reason

    def _redact(self, contents: list[Content], texts: list[str]) -> tuple[list[Content], list[str]]:
        redact, counts = self.redactor.redact, self.state.pii_counts
        modified = 0
        for i, content in enumerate(contents):
            found_any = False
            parts = []
            for part in content:
                redacted, found = redact(part)
                if found:
                    found_any = True
                    counts.update(found)
                parts.append(redacted)
            if found_any:
                modified += 1
                contents[i] = tuple(parts)
                texts[i] = record_text(contents[i])
        self.state.steps["pii"].records_modified += modified
        return contents, texts

    def _first_sighting(self, record_id: bytes, text: str) -> str | None:
        if record_id not in self.state.seen:
            self.state.seen.add(record_id)
            return None
        cluster_ = self.state.exact_clusters.setdefault(record_id, [1, text])
        cluster_[0] += 1
        self.state.steps["exact_dedup"].dropped_by_reason["exact_duplicate"] += 1
        return "exact_duplicate"

    def _spill_batch(self, path: Path, ids: list[bytes], contents: list[Content], sources: list[RawRecord],
                     chars: list[int], tokens: list[int]) -> None:
        table = pa.table({
            "record_id": pa.array(ids, pa.binary(16)),
            "parts": pa.array([list(c) for c in contents], pa.list_(pa.string())),
            "source_file": pa.array([s.file for s in sources], pa.string()).dictionary_encode(),
            "source_line": pa.array([s.line for s in sources], pa.int64()),
            "chars": pa.array(chars, pa.int32()),
            "tokens": pa.array(tokens, pa.int32()),
        })
        if self._spill is None:
            self._spill = pq.ParquetWriter(path, table.schema, compression="lz4")
        self._spill.write_table(table)

    def _check_not_empty(self, files: list[SourceFile]) -> None:
        names = ", ".join(f.name for f in files)
        if self.state.raw_records == 0:
            detail = f" ({self.state.bad_count} bad records skipped)" if self.state.bad_count else ""
            raise PreparationFailed(f"no usable records in {names}{detail}")
        if not self.state.record_ids:
            dropped = {s.step: dict(s.dropped_by_reason) for s in self.state.steps.values() if s.dropped_by_reason}
            raise PreparationFailed(f"preparation dropped every record of {names}: {dropped}")

    # ------------------------------------------------------------------ near dedup and version id

    def _near_duplicates(self, record_ids: np.ndarray) -> NearDuplicates:
        n = record_ids.size
        if not self.config.dedup.near:
            near = NearDuplicates.none(n)
        else:
            content_key = np.frombuffer(record_ids.tobytes(), dtype=">u8")[::2].astype(np.uint64)
            rank = completeness_rank(np.concatenate(self.state.lengths), content_key)
            for handle in self._near_files:
                handle.close()
            fingerprints = np.memmap(self._near_path(0), dtype=np.uint8, mode="r",
                                     shape=(n, self.config.dedup.num_perm))
            offsets = np.r_[0, np.cumsum(np.concatenate(self.state.shingle_counts), dtype=np.int64)]
            shingles = Shingles(_memmap_or_empty(self._near_path(self.scheme.bands + 1), np.uint64), offsets)
            bands = (np.fromfile(self._near_path(band), dtype=np.uint64) for band in range(1, self.scheme.bands + 1))
            near = select(bands, fingerprints, shingles, np.concatenate(self.state.has_shingles),
                          rank, self.config.dedup.threshold)
        step = self.state.steps["near_dedup"]
        step.records_kept = int(near.kept.sum())
        if n - step.records_kept:
            step.dropped_by_reason["near_duplicate"] = n - step.records_kept
        self.state.steps["split"].records_kept = step.records_kept
        return near

    def _version_id(self, kept_ids: np.ndarray) -> str:
        digest = hashlib.blake2b(digest_size=16, person=b"llmops-version")
        digest.update(f"{self.config.config_hash()}:{self.mapper.shape}:".encode())
        digest.update(np.sort(kept_ids).tobytes())
        return digest.hexdigest()

    def _steps(self) -> list[dict[str, Any]]:
        previous = self.state.records_read
        out = []
        for name in STEP_NAMES:
            step = self.state.steps[name]
            step.records_in = previous
            previous = step.records_kept
            out.append(step.as_dict())
        return out

    # ------------------------------------------------------------------ pass 2

    def _write(self, spill_path: Path, near: NearDuplicates, record_ids: np.ndarray, folder: Path,
               version: str, source: dict[str, Any]) -> tuple[dict[str, int], dict[str, Any]]:
        shape, split_config = self.mapper.shape, self.config.split
        kept, keeper, similarity = near.kept, near.keeper, near.similarity
        near_sizes = near.cluster_sizes()
        top_keepers = set(sorted(near_sizes, key=lambda k: -near_sizes[k])[:eda.TOP_CLUSTERS])
        acc = eda.ProfileAccumulator(eda.ngram_fraction(int(kept.sum())))
        chars_kept, tokens_kept = [], []
        writer = ShardWriter(folder, shape, self.shard_records)
        row = 0
        for batch in pq.ParquetFile(spill_path).iter_batches(batch_size=8192):
            columns = batch.to_pydict()
            n = batch.num_rows
            batch_kept = kept[row:row + n]
            chars_kept.append(np.asarray(columns["chars"], dtype=np.int64)[batch_kept])
            tokens_kept.append(np.asarray(columns["tokens"], dtype=np.int64)[batch_kept])
            for i in range(n):
                index = row + i
                parts = tuple(columns["parts"][i])
                text = record_text(parts)
                if keeper[index] in top_keepers:
                    acc.add_near_example(int(keeper[index]), text, float(similarity[index]),
                                         is_keeper=bool(batch_kept[i]))
                if not batch_kept[i]:
                    continue
                record_id = columns["record_id"][i]
                acc.add_text(text, int.from_bytes(record_id[8:], "big") / 2**64)
                writer.add(split_of(record_id, split_config), record_id.hex(), parts,
                           columns["source_file"][i], columns["source_line"][i])
            row += n
        shards = writer.close()
        split_counts = writer.split_counts()
        state = self.state
        count = int(kept.sum())
        profile = {
            "dataset_name": source.get("dataset_name", ""), "version": version, "shape": str(shape),
            "created_at": datetime.now(UTC).isoformat(), "record_count": count, "split_counts": split_counts,
            "source": {"uri": source.get("uri", ""), "format": source.get("format", ""),
                       "files": [f.get("name", "") for f in source.get("files", [])][:eda.SOURCE_FILES]},
            "config": self.config.model_dump(mode="json"), "steps": self._steps(),
            "char_lengths": eda.distribution(np.concatenate(chars_kept)),
            "token_lengths": eda.distribution(np.concatenate(tokens_kept)), "tokenizer": self.tokens.name,
            "duplicate_clusters": eda.top_clusters(state.exact_clusters, near_sizes, acc.near_kept,
                                                   acc.near_examples),
            "duplicate_cluster_counts": {"exact": len(state.exact_clusters), "near": len(near_sizes)},
            "pii_counts": dict(state.pii_counts),
            "top_ngrams": [{"ngram": g, "count": c} for g, c in acc.ngrams.most_common(eda.TOP_NGRAMS)],
            "ngram_n": eda.NGRAM_N, "ngram_sample_fraction": acc.ngram_fraction,
            "field_completeness": {k: round(v / state.raw_records, 6) for k, v in sorted(state.filled.items())},
            "script_mix": eda.fractions(acc.scripts, count),
            "bad_record_count": state.bad_count, "bad_record_samples": state.bad_samples,
        }
        manifest = {
            "format": "llmops.dataset/v1", "dataset_name": profile["dataset_name"], "version": version,
            "shape": str(shape), "record_count": count, "split_counts": split_counts,
            "config": profile["config"], "config_hash": self.config.config_hash(), "source": source,
            "columns": writer.schema_description(), "shards": shards, "created_at": profile["created_at"],
        }
        (folder / "profile.json").write_text(json.dumps(profile, ensure_ascii=False))
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        return split_counts, profile


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _memmap_or_empty(path: Path, dtype: type) -> np.ndarray:
    """The file as a read-only memory map (numpy cannot map an empty file)."""
    return np.memmap(path, dtype=dtype, mode="r") if path.stat().st_size else np.empty(0, dtype)


def _filter(drop: list[str | None], *columns: list[Any]) -> tuple[list[Any], ...]:
    """Keep the rows whose ``drop`` reason is None, in every column."""
    if not any(drop):
        return columns
    return tuple([value for value, reason in zip(column, drop, strict=True) if reason is None] for column in columns)
