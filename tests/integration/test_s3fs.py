"""The jobs' pyarrow filesystem over the minio client, against the stack's S3 server (rclone), which
refuses what pyarrow's own S3 filesystem sends: what Ray Train's storage and Parquet reads use."""

from __future__ import annotations

import pickle
import uuid

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from llmops_common.settings import CommonSettings
from llmops_common.storage import ArtifactStore
from llmops_training.jobs.protocol import StorageAccess
from llmops_training.jobs.s3fs import s3_filesystem

pytestmark = pytest.mark.integration


@pytest.fixture
def fs_and_base(settings_for):
    settings: CommonSettings = settings_for()
    ArtifactStore.from_settings(settings).ensure_buckets()
    storage = StorageAccess(endpoint=settings.s3_endpoint, access_key=settings.s3_access_key,
                            secret_key=settings.s3_secret_key.get_secret_value(), region=settings.s3_region)
    return s3_filesystem(storage), f"{settings.s3_bucket_artifacts}/s3fs-{uuid.uuid4().hex[:8]}"


def test_nested_folders_round_trip_through_copy_files_without_marker_objects(fs_and_base, tmp_path):
    fs, base = fs_and_base
    local = tmp_path / "ckpt"
    (local / "a" / "b").mkdir(parents=True)
    (local / "a" / "b" / "state.pt").write_bytes(b"\x00" * 70_000)
    (local / "latest").write_text("ckpt")
    fs.create_dir(f"{base}/run/step-1", recursive=True)  # a no-op, not an empty "dir/" object
    pafs.copy_files(str(local), f"{base}/run/step-1", destination_filesystem=fs)

    assert fs.get_file_info(f"{base}/run").type == pafs.FileType.Directory
    assert fs.get_file_info(f"{base}/run/step-1/latest").size == 4
    assert fs.get_file_info(f"{base}/run/missing").type == pafs.FileType.NotFound
    files = {i.path for i in fs.get_file_info(pafs.FileSelector(f"{base}/run", recursive=True))
             if i.type == pafs.FileType.File}
    assert files == {f"{base}/run/step-1/latest", f"{base}/run/step-1/a/b/state.pt"}

    back = tmp_path / "back"
    pafs.copy_files(f"{base}/run/step-1", str(back), source_filesystem=fs)
    assert (back / "a" / "b" / "state.pt").read_bytes() == b"\x00" * 70_000

    fs.delete_dir(f"{base}/run")
    assert fs.get_file_info(f"{base}/run").type == pafs.FileType.NotFound
    with pytest.raises(FileNotFoundError):
        fs.get_file_info(pafs.FileSelector(f"{base}/run"))


def test_parquet_reads_and_the_filesystem_pickles_for_ray(fs_and_base):
    fs, base = fs_and_base
    table = pa.table({"text": ["a", "b", "c"]})
    with fs.open_output_stream(f"{base}/t.parquet") as out:
        pq.write_table(table, out)
    clone = pickle.loads(pickle.dumps(fs))
    assert pq.read_table(f"{base}/t.parquet", filesystem=clone).equals(table)
    with pytest.raises(OSError, match="every bucket"):
        fs.delete_dir_contents("", accept_root_dir=True)
