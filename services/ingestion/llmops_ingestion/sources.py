"""Where an ingestion may read from: checked when a request is accepted, and again when its job runs.

* ``s3://`` sources must lie under one of ``s3_source_prefixes`` (by default the artifacts bucket;
  never the models bucket, which the settings refuse). Uploads are read by id, not by URI.
* Local paths must lie under one of ``local_source_roots``, once resolved. Inside a folder every entry
  is resolved too: a symlink (to a file or a folder) whose target is outside the roots is refused,
  naming it; symlinked folders inside the roots are followed once each. Special files (FIFOs,
  sockets, devices) are skipped.
* A file found in a folder may be replaced between the listing and the reading (a symlink swapped in
  for it, or for one of its folders). So each listed file is opened once, with ``O_NOFOLLOW`` and
  ``O_NONBLOCK``, and must still be the same regular file (device and inode) that was listed and
  checked, whatever happened to the path on the way; its bytes are then copied from that open file
  into the job's scratch folder, where the preparation reads them. The readers never open a path under
  the roots, so nothing swapped in later is read.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from llmops_common.errors import InvalidArgument, NotFound, PermissionDenied
from llmops_common.validation import parse_s3_uri, quote
from llmops_ingestion.domain.model import SourceKind, SourceSpec
from llmops_ingestion.settings import IngestionSettings

LOCAL_FIELD, S3_FIELD = "source.local_path", "source.s3_uri"
_COPY_BLOCK = 1 << 20


@dataclass(frozen=True)
class _Listed:
    real: Path  # resolved, checked under the roots
    shown: str  # the path under the requested one, as the user knows it
    identity: tuple[int, int]  # (st_dev, st_ino) when listed


@dataclass(frozen=True)
class SourceRules:
    local_roots: tuple[Path, ...] = ()
    s3_prefixes: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: IngestionSettings) -> SourceRules:
        return cls(tuple(settings.local_source_roots), tuple(settings.s3_source_prefixes))

    def check(self, spec: SourceSpec) -> None:
        """Refuse a source outside the allowed roots or prefixes (uploads are checked by id elsewhere)."""
        if spec.kind is SourceKind.LOCAL:
            self.check_local(spec.location)
        elif spec.kind is SourceKind.S3:
            self.check_s3(spec.location)

    def check_s3(self, uri: str) -> None:
        bucket, key = parse_s3_uri(uri, S3_FIELD)
        for prefix in self.s3_prefixes:
            allowed_bucket, allowed_key = parse_s3_uri(prefix, "s3_source_prefixes")
            allowed_key = f"{allowed_key.rstrip('/')}/" if allowed_key else ""  # whole path segments only
            if bucket == allowed_bucket and f"{key.rstrip('/')}/".startswith(allowed_key):
                return
        allowed = ", ".join(self.s3_prefixes) or "none configured (LLMOPS_INGESTION_S3_SOURCE_PREFIXES)"
        raise PermissionDenied(f"{quote(uri)} is outside the S3 prefixes ingestion may read: {allowed}",
                               field=S3_FIELD)

    def check_local(self, path: str) -> Path:
        """The resolved path, when it exists under one of the roots."""
        resolved = Path(path).resolve()
        if not self._inside(resolved):
            allowed = ", ".join(str(r) for r in self.local_roots) or \
                "none configured (LLMOPS_INGESTION_LOCAL_SOURCE_ROOTS)"
            raise InvalidArgument(f"{quote(path)} is outside the allowed local roots: {allowed}", field=LOCAL_FIELD)
        if not resolved.exists():
            raise NotFound(f"no file or folder at {quote(path)} on the ingestion service's machine",
                           field=LOCAL_FIELD)
        return resolved

    def stage_local(self, path: str, folder: Path) -> list[tuple[Path, str]]:
        """Copy the local source (a file, or every file under a folder, in path order) into ``folder``:
        (copy, name shown to users) per file. Raises :class:`PermissionDenied` naming a file that
        escapes the roots or changed after it was listed."""
        listed = sorted(self._list(path), key=lambda f: Path(f.shown))
        return [(self._copy(f, folder / f"{i:05d}-{f.real.name}"), f.shown) for i, f in enumerate(listed)]

    # -- internals ---------------------------------------------------------------------------

    def _inside(self, resolved: Path) -> bool:
        return any(resolved.is_relative_to(root.resolve()) for root in self.local_roots)

    def _list(self, path: str) -> Iterator[_Listed]:
        top = self.check_local(path)
        info = top.stat()
        if not stat.S_ISDIR(info.st_mode):
            yield _Listed(top, path, (info.st_dev, info.st_ino))
            return
        seen = {(info.st_dev, info.st_ino)}
        pending = [(top, Path(path))]
        while pending:
            real_dir, shown_dir = pending.pop()
            with os.scandir(real_dir) as entries:
                found = [(Path(e.path), shown_dir / e.name, e.is_symlink()) for e in entries]
            for real, shown, is_link in found:
                if is_link:
                    real = self._follow(real, shown)
                try:
                    info = real.stat()
                except OSError as exc:
                    raise NotFound(f"{shown} vanished while its folder was listed: {exc.strerror}",
                                   field=str(shown)) from None
                identity = (info.st_dev, info.st_ino)
                if stat.S_ISDIR(info.st_mode) and identity not in seen:
                    seen.add(identity)
                    pending.append((real, shown))
                elif stat.S_ISREG(info.st_mode):
                    yield _Listed(real, str(shown), identity)

    def _follow(self, link: Path, shown: Path) -> Path:
        """The resolved target of a symlink found in a folder, when it is inside the roots."""
        try:
            target = link.resolve(strict=True)
        except (OSError, RuntimeError):
            raise NotFound(f"{shown} is a symlink to nothing (or to itself)", field=str(shown)) from None
        if not self._inside(target):
            raise PermissionDenied(f"{shown} is a symlink to {quote(str(target))}, outside the allowed local roots;"
                                   " it is not read", field=str(shown))
        return target

    @staticmethod
    def _copy(listed: _Listed, target: Path) -> Path:
        """Open the listed file without following a symlink, check it is still the file that was listed,
        and copy it from that open file."""
        try:
            fd = os.open(listed.real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            error = NotFound if exc.errno == errno.ENOENT else PermissionDenied
            raise error(f"{listed.shown} changed after it was listed ({exc.strerror}); it is not read",
                        field=listed.shown) from None
        with os.fdopen(fd, "rb") as source:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) != listed.identity:
                raise PermissionDenied(f"{listed.shown} changed after it was listed (it is no longer the file"
                                       " that was checked); it is not read", field=listed.shown)
            with target.open("wb") as out:
                shutil.copyfileobj(source, out, _COPY_BLOCK)
        return target
