"""``llmops models import`` and ``llmops models bootstrap-base``: base models with no download.

``import`` checks a local Hugging Face causal-LM folder, uploads it to
``s3://<models bucket>/<NAME>/base/<manifest sha256>/`` and registers it as a ``base`` version (the
request id is derived from the manifest, so importing the same folder again returns the same
version). ``bootstrap-base`` builds one from nothing: a seeded corpus, a locally trained tokenizer
and a randomly initialised Llama-style model, uploaded to ``s3://<models bucket>/_init/<sha256>/``;
the corpus is ingested as the dataset ``<NAME>-corpus`` and the training service pretrains the model
(full training) and registers the result as ``base``.

The model code (torch, transformers) loads inside the commands, so the rest of the CLI starts without it.
"""

from __future__ import annotations

import tempfile
import uuid
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.text import Text

from llmops.ingestion.v1 import ingestion_pb2 as ingest_pb
from llmops.registry.v1 import registry_pb2 as pb
from llmops.training.v1 import training_pb2 as train_pb
from llmops_cli import datasets, training
from llmops_cli.local import load_stack, service_env
from llmops_cli.models import call, models_app
from llmops_cli.models import client as registry
from llmops_cli.output import console, err_console
from llmops_cli.toolkit import JsonOpt, emit, page, short_name
from llmops_common.errors import NotFound
from llmops_common.settings import CommonSettings

if TYPE_CHECKING:  # the S3 client is imported by the commands that upload, not by every CLI start
    from llmops_common.storage import ArtifactStore
    from llmops_training.base_models.folder import FolderManifest

FORMAT = "hf-safetensors"


class Size(StrEnum):  # the sizes of llmops_training.base_models.architecture.SIZES
    tiny = "tiny"
    small = "small"


def _store() -> tuple[ArtifactStore, str]:
    """The artifact store and models bucket of the settings the CLI's services use."""
    from llmops_common.storage import ArtifactStore

    settings = CommonSettings.from_variables(service_env(load_stack()))
    store = ArtifactStore.from_settings(settings)
    store.ensure_buckets()
    return store, settings.s3_bucket_models


def upload_folder(store: ArtifactStore, manifest: FolderManifest, prefix: str) -> str:
    """Upload every file of ``manifest`` below ``prefix`` (skipping those stored already with the same
    sha256), with a progress bar; returns the prefix."""
    with Progress(TextColumn("upload {task.description}", markup=False), BarColumn(), DownloadColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task(manifest.root.name, total=manifest.size)
        for entry in manifest.files:
            uri = f"{prefix}/{entry.path}"
            try:
                stored = store.stat(uri).sha256 == entry.sha256
            except NotFound:
                stored = False
            if not stored:
                store.put_file(uri, manifest.root / entry.path, sha256=entry.sha256)
            progress.advance(task, entry.size)
    return prefix


def _ensure_model(name: str, description: str) -> None:
    """Create the registered model unless it exists (the exact name sorts first among its prefix)."""
    found = call("ListRegisteredModels", pb.ListRegisteredModelsRequest(
        name_prefix=name, page=page(1, "")))
    if not any(m.name == name for m in found.models):
        call("CreateRegisteredModel", pb.CreateRegisteredModelRequest(name=name, description=description))


def _show_version(v: pb.ModelVersion) -> None:
    console.print(Text.assemble((f"models:/{v.model_name}/{v.version}", "green"),
                                f" ({short_name(pb.ModelKind, 'MODEL_KIND_', v.kind)}, {v.format}, "
                                f"{v.size_bytes:,} bytes, sha256 {v.sha256[:12]}) at {v.artifact_uri}"))


@models_app.command("import")
def import_model(
    name: Annotated[str, typer.Argument(help="Registered model name (created if new).")],
    path: Annotated[Path, typer.Argument(help="A local Hugging Face causal-LM folder: config.json, "
                                              "*.safetensors, tokenizer files.")],
    description: Annotated[str, typer.Option(help="Description of the model, if it is new.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Upload a local Hugging Face causal-LM folder and register it as a base version."""
    from llmops_training.base_models.folder import validate_model_folder

    manifest = validate_model_folder(path)
    _ensure_model(name, description)
    store, bucket = _store()
    prefix = upload_folder(store, manifest, f"s3://{bucket}/{name}/base/{manifest.sha256}")
    request = pb.CreateModelVersionRequest(
        model_name=name, artifact_uri=prefix, kind=pb.MODEL_KIND_BASE, format=FORMAT,
        tags={"architecture": manifest.architecture, "model_type": manifest.model_type, "source": "import"},
        request_id=f"import:{manifest.sha256}")
    emit(call("CreateModelVersion", request), as_json, _show_version)


# -- bootstrap-base ----------------------------------------------------------------------------------


def _ingest_corpus(dataset: str, corpus: Path) -> str:
    """Ingest the corpus as a text dataset and return ``name@version`` (content-addressed: the same
    corpus gives the version it gave before)."""
    source = ingest_pb.DataSource(upload_id=datasets.upload(dataset, corpus), format=ingest_pb.DATA_FORMAT_TEXT_LINES)
    job = datasets.client.call("IngestDataset", ingest_pb.IngestDatasetRequest(
        dataset_name=dataset, source=source, shape=ingest_pb.RECORD_SHAPE_TEXT, request_id=str(uuid.uuid4())))
    job = datasets.follow(job)
    if job.status != ingest_pb.JOB_STATUS_SUCCEEDED:
        err_console.print(f"error: ingesting the corpus failed: {job.error.message}")
        raise typer.Exit(1)
    return f"{job.version.dataset_name}@{job.version.version}"


def _submit(name: str, base_uri: str, dataset_version: str, *, size: str, seed: int,
            steps: int) -> train_pb.TrainingRun:
    from llmops_training.base_models.architecture import SIZES

    hyper = train_pb.Hyperparameters(max_steps=steps, seed=seed, learning_rate=SIZES[size].learning_rate,
                                     per_device_batch_size=8, max_seq_length=256, packing=True,
                                     warmup_steps=max(1, steps // 10), lr_scheduler="cosine")
    spec = train_pb.TrainingSpec(
        base_model=base_uri, dataset_version=dataset_version, method=train_pb.TRAINING_METHOD_FULL,
        hyperparameters=hyper, distributed=train_pb.DistributedConfig(num_workers=1), output_model_name=name,
        tags={"bootstrap": size, "seed": str(seed)})
    request = train_pb.SubmitRunRequest(name=f"bootstrap {name}", spec=spec, request_id=str(uuid.uuid4()))
    return training.client.call("SubmitRun", request)


@models_app.command("bootstrap-base")
def bootstrap_base(
    name: Annotated[str, typer.Argument(help="Registered model name of the base (created if new).")],
    size: Annotated[Size, typer.Option(help="tiny: about 6.5M parameters; small: about 66M.")] = Size.tiny,
    seed: Annotated[int, typer.Option(min=0, help="Seeds the corpus, the weights and the training.")] = 0,
    steps: Annotated[int | None, typer.Option(min=1, help="Pretraining steps (default: 200 tiny, 400 small).")] = None,
    follow: Annotated[bool, typer.Option("--follow/--no-follow", help="Follow the run and print the version.")] = True,
    ingestion: Annotated[str | None, typer.Option("--ingestion", envvar="LLMOPS_INGESTION_ENDPOINT",
                                                  help="Ingestion service gRPC endpoint HOST:PORT.")] = None,
    training_endpoint: Annotated[str | None, typer.Option("--training", envvar="LLMOPS_TRAINING_ENDPOINT",
                                                          help="Training service gRPC endpoint HOST:PORT.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Build a base model offline (corpus, tokenizer, random init), pretrain it through the training
    service and register it as a base version. The same seed gives the same model."""
    from llmops_training.base_models.architecture import SIZES, build_base_model
    from llmops_training.base_models.corpus import generate_documents, write_corpus
    from llmops_training.base_models.folder import validate_model_folder

    spec = SIZES[size.value]
    training.client.configure(training_endpoint, registry.api_key)
    datasets.client.configure(ingestion, registry.api_key)
    _ensure_model(name, f"{size} Llama-style base model bootstrapped offline (seed {seed})")
    with tempfile.TemporaryDirectory(prefix="llmops-bootstrap-") as tmp:
        documents = generate_documents(seed, spec.documents)
        corpus = write_corpus(Path(tmp) / f"{name}-corpus.txt", documents)
        built = build_base_model(Path(tmp) / "model", documents, size=size.value, seed=seed)
        manifest = validate_model_folder(built.folder)
        store, bucket = _store()
        init_uri = upload_folder(store, manifest, f"s3://{bucket}/_init/{manifest.sha256}")
        dataset_version = _ingest_corpus(f"{name}-corpus", corpus)
    run = _submit(name, init_uri, dataset_version, size=size.value, seed=seed, steps=steps or spec.default_steps)
    if not as_json:
        console.print(Text.assemble(f"pretraining {built.parameters:,} parameters from {init_uri} on "
                                    f"{dataset_version}: run ", (run.run_id, "bold")))
    if follow:
        run = training.follow(run, err_console if as_json else console)
    summary = {**training.run_summary(run), "parameters": built.parameters}
    if as_json:
        training.emit_line(summary)
    elif run.status == train_pb.RUN_STATUS_SUCCEEDED:
        loss = "-" if summary["loss"] is None else f"{summary['loss']:.4f}"
        console.print(Text.assemble((run.model_version, "green"), f": base model, final loss {loss}"))
    elif follow:
        console.print(Text.assemble((f"run {summary['status'].lower()}", "red"), f": {summary['error'] or ''}"))
    if run.status in (train_pb.RUN_STATUS_FAILED, train_pb.RUN_STATUS_CANCELLED):
        raise typer.Exit(1)
