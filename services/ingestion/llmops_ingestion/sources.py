"""Where an ingestion may read from: checked when a request is accepted, and again when its job runs.

* ``s3://`` sources must lie under one of ``s3_source_prefixes`` (by default the artifacts bucket;
  never the models bucket, which the settings refuse). Uploads are read by id, not by URI.
* Local paths must lie under one of ``local_source_roots``, once resolved. Inside a folder every entry
  is resolved too: a symlink (to a file or a folder) whose target is outside the roots is refused,
  naming it; symlinked folders inside the roots are followed once each. Special files (FIFOs,
  sockets, devices) are skipped.
* A file or folder may be replaced by a symlink between its check and its use. So nothing under the
  roots is opened by path: every folder listed and every file read is opened from its root one
  component at a time with ``O_NOFOLLOW`` (``openat``), so a symlink swapped in anywhere along the
  resolved path fails the open; a file must also still be the regular file (device and inode) that
  was listed, and is opened with ``O_NONBLOCK`` (a FIFO swapped in cannot block the job). Its bytes are
  copied from that open file into the job's scratch folder, where the preparation reads them, so
  nothing swapped in after the copy is read either. (A hard link to a file outside the roots is the
  same file by any name, and is what ``fs.protected_hardlinks`` prevents.)
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
from llmops_common.validation import check_text, parse_s3_uri, quote
from llmops_ingestion.domain.model import SourceKind, SourceSpec
from llmops_ingestion.preparation.tokens import TOKENIZER_FIELD
from llmops_ingestion.settings import IngestionSettings

LOCAL_FIELD, S3_FIELD = "source.local_path", "source.s3_uri"
MAX_PATH = 4096  # PATH_MAX on Linux
_COPY_BLOCK = 1 << 20
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


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

    def check_local(self, path: str, field: str = LOCAL_FIELD) -> Path:
        """The resolved path, when it exists under one of the roots."""
        resolved = Path(check_text(path, field, max_len=MAX_PATH)).resolve()
        if not self._inside(resolved):
            allowed = ", ".join(str(r) for r in self.local_roots) or \
                "none configured (LLMOPS_INGESTION_LOCAL_SOURCE_ROOTS)"
            raise InvalidArgument(f"{quote(path)} is outside the allowed local roots: {allowed}", field=field)
        if not resolved.exists():
            raise NotFound(f"no file or folder at {quote(path)} on the ingestion service's machine", field=field)
        return resolved

    def check_tokenizer(self, tokenizer: str) -> str:
        """A tokenizer other than ``whitespace`` is a local path, held to the same roots as sources;
        returns it resolved (symlinks followed once, here), so the job loads what was checked."""
        if tokenizer == "whitespace":
            return tokenizer
        return str(self.check_local(tokenizer, TOKENIZER_FIELD))

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
        """Every regular file of the source, each resolved, checked and identified (device, inode).

        Folders are opened with :meth:`_open_beneath` and their entries examined relative to the open
        folder, so a folder swapped for a symlink during the walk is refused, not listed."""
        top = self.check_local(path)
        info = self._stat_beneath(top, Path(path))
        if stat.S_ISREG(info.st_mode):
            yield _Listed(top, path, (info.st_dev, info.st_ino))
            return
        seen: set[tuple[int, int]] = set()
        pending = [(top, Path(path))] if stat.S_ISDIR(info.st_mode) else []
        while pending:
            real_dir, shown_dir = pending.pop()
            found = []
            folder = self._open_beneath(real_dir, os.O_DIRECTORY, shown_dir)
            try:
                info = os.fstat(folder)
                identity = (info.st_dev, info.st_ino)
                if identity in seen:  # a folder reached twice (through a symlink) is walked once
                    continue
                seen.add(identity)
                with os.scandir(folder) as entries:
                    for entry in entries:
                        found.append((entry.name, entry.is_symlink(), entry.stat(follow_symlinks=False)))
            finally:
                os.close(folder)
            for name, is_link, info in found:
                real, shown = real_dir / name, shown_dir / name
                if is_link:
                    real = self._follow(real, shown)
                    info = self._stat_beneath(real, shown)
                if stat.S_ISDIR(info.st_mode):
                    pending.append((real, shown))
                elif stat.S_ISREG(info.st_mode):
                    yield _Listed(real, str(shown), (info.st_dev, info.st_ino))

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

    def _root_of(self, resolved: Path) -> Path:
        return next(r for r in (root.resolve() for root in self.local_roots) if resolved.is_relative_to(r))

    def _open_beneath(self, resolved: Path, flags: int, shown: Path | str) -> int:
        """Open ``resolved`` (a resolved path under a root) one component at a time from its root,
        following no symlink: a component swapped for a symlink since it was resolved fails."""
        root = self._root_of(resolved)
        parts = resolved.relative_to(root).parts
        try:
            fd = os.open(root, (os.O_DIRECTORY if parts else flags) | os.O_RDONLY | _CLOEXEC)
            for i, part in enumerate(parts):
                kind = flags if i == len(parts) - 1 else os.O_DIRECTORY
                try:
                    inner = os.open(part, kind | os.O_RDONLY | os.O_NOFOLLOW | _CLOEXEC, dir_fd=fd)
                finally:
                    os.close(fd)
                fd = inner
        except OSError as exc:
            error = NotFound if exc.errno == errno.ENOENT else PermissionDenied
            raise error(f"{shown} changed after it was listed ({exc.strerror}); it is not read",
                        field=str(shown)) from None
        return fd

    def _stat_beneath(self, resolved: Path, shown: Path) -> os.stat_result:
        """``lstat`` of ``resolved``, through its folder opened with :meth:`_open_beneath`."""
        if resolved == self._root_of(resolved):
            return resolved.stat()
        folder = self._open_beneath(resolved.parent, os.O_DIRECTORY, shown)
        try:
            info = os.stat(resolved.name, dir_fd=folder, follow_symlinks=False)
        except OSError as exc:
            raise NotFound(f"{shown} vanished while it was listed ({exc.strerror})", field=str(shown)) from None
        finally:
            os.close(folder)
        if stat.S_ISLNK(info.st_mode):
            raise PermissionDenied(f"{shown} changed after it was resolved (it is a symlink now); it is not read",
                                   field=str(shown))
        return info

    def _copy(self, listed: _Listed, target: Path) -> Path:
        """Open the listed file beneath its root without following any symlink, check it is still the
        file that was listed, and copy it from that open file."""
        fd = self._open_beneath(listed.real, os.O_NONBLOCK, listed.shown)
        with os.fdopen(fd, "rb") as source:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) != listed.identity:
                raise PermissionDenied(f"{listed.shown} changed after it was listed (it is no longer the file"
                                       " that was checked); it is not read", field=listed.shown)
            with target.open("wb") as out:
                shutil.copyfileobj(source, out, _COPY_BLOCK)
        return target
