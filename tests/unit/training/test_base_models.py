"""Base models with no download: the seeded corpus, the local BPE tokenizer, the Llama-style sizes, seeded
weights, and the checks a folder passes before import."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmops_common.errors import InvalidArgument
from llmops_common.validation import quote
from llmops_training.base_models.architecture import SIZES, build_base_model, count_parameters
from llmops_training.base_models.corpus import generate_documents, write_corpus
from llmops_training.base_models.folder import FolderLimits, validate_model_folder
from llmops_training.base_models.tokenizer import train_tokenizer

TINY_DOCS = SIZES["tiny"].documents


@pytest.fixture(scope="module")
def documents() -> list[str]:
    return generate_documents(seed=0, count=TINY_DOCS)


@pytest.fixture(scope="module")
def tokenizer(documents):
    return train_tokenizer(documents, SIZES["tiny"].vocab_size)


@pytest.fixture(scope="module")
def built(tmp_path_factory, documents) -> Path:
    return build_base_model(tmp_path_factory.mktemp("tiny") / "model", documents, size="tiny", seed=7).folder


@pytest.fixture
def folder(built, tmp_path) -> Path:
    return Path(shutil.copytree(built, tmp_path / "model"))


# -- corpus ------------------------------------------------------------------------------------------


def test_the_same_seed_writes_the_same_corpus_bytes_and_another_seed_does_not(tmp_path):
    first, second, other = (write_corpus(tmp_path / f"{n}.txt", generate_documents(seed, 500)) for n, seed in
                            (("a", 3), ("b", 3), ("c", 4)))
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    lines = first.read_text().splitlines()
    assert len(lines) == 500 and all(line.strip() for line in lines)


def test_the_corpus_is_varied_enough_to_fill_the_tiny_vocabulary(documents, tokenizer):
    assert len(set(documents)) == len(documents) == TINY_DOCS
    assert len(tokenizer) == SIZES["tiny"].vocab_size


# -- tokenizer ---------------------------------------------------------------------------------------


def test_the_tokenizer_trains_deterministically_and_saves_in_hugging_face_format(documents, tokenizer, tmp_path):
    from transformers import AutoTokenizer

    from llmops_training.base_models.tokenizer import save_tokenizer

    again = train_tokenizer(documents, SIZES["tiny"].vocab_size)
    paths = [save_tokenizer(t, tmp_path / name, model_max_length=512) for name, t in (("a", tokenizer), ("b", again))]
    assert [p.name for p in paths[0]] == ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]
    assert [p.read_bytes() for p in paths[0]] == [p.read_bytes() for p in paths[1]]
    loaded = AutoTokenizer.from_pretrained(tmp_path / "a")
    assert (loaded.pad_token_id, loaded.unk_token_id, loaded.bos_token_id, loaded.eos_token_id) == (0, 1, 2, 3)
    assert loaded.model_max_length == 512
    assert json.loads((tmp_path / "a" / "tokenizer_config.json").read_text())["tokenizer_class"] == \
        "PreTrainedTokenizerFast"
    assert json.loads((tmp_path / "a" / "special_tokens_map.json").read_text())["eos_token"] == "</s>"


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_round_trips_through_the_tokenizer(tokenizer, text):
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text
    assert all(0 <= i < SIZES["tiny"].vocab_size for i in ids)


def test_corpus_words_take_few_tokens(tokenizer, documents):
    words = documents[0].split()
    assert len(tokenizer(documents[0])["input_ids"]) < 1.6 * len(words)


# -- architecture ------------------------------------------------------------------------------------


def test_parameter_counts_are_the_documented_ones_within_the_stated_ranges():
    tiny, small = count_parameters("tiny"), count_parameters("small")
    assert tiny == 6_524_160 and 5_000_000 <= tiny <= 15_000_000
    assert small == 65_959_040 and 50_000_000 <= small <= 120_000_000
    assert (SIZES["tiny"].max_positions, SIZES["small"].max_positions) == (512, 1024)


def test_the_same_seed_gives_byte_identical_weights_and_another_seed_does_not(built, documents, tmp_path):
    again = build_base_model(tmp_path / "again", documents, size="tiny", seed=7)
    other = build_base_model(tmp_path / "other", documents, size="tiny", seed=8)
    assert again.parameters == count_parameters("tiny")
    for name in ("model.safetensors", "config.json", "tokenizer.json"):
        assert (again.folder / name).read_bytes() == (built / name).read_bytes(), name
    assert (other.folder / "model.safetensors").read_bytes() != (built / "model.safetensors").read_bytes()


def test_the_built_folder_loads_as_a_causal_lm_with_its_tokenizer(built):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(built)
    tok = AutoTokenizer.from_pretrained(built)
    assert type(model).__name__ == "LlamaForCausalLM"
    assert model.config.eos_token_id == tok.eos_token_id and model.config.pad_token_id == tok.pad_token_id
    batch = tok(["Anna lived near the river."], return_tensors="pt")
    with torch.no_grad():
        loss = model(**batch, labels=batch["input_ids"]).loss
    assert 6.0 < loss.item() < 10.0  # random init: about ln(4096) = 8.3


def test_a_few_optimizer_steps_on_the_corpus_make_the_loss_fall_visibly(built, documents):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model, tok = AutoModelForCausalLM.from_pretrained(built), AutoTokenizer.from_pretrained(built)
    ids = [i for doc in documents[:200] for i in [*tok(doc)["input_ids"], tok.eos_token_id]]
    batches = torch.tensor(ids[:8 * 2 * 64]).view(8, 2, 64)  # 8 steps of 2 sequences of 64 tokens
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for batch in batches:
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 1.0, losses  # from about ln(4096) = 8.3


# -- folder validation ---------------------------------------------------------------------------------


def test_a_built_folder_passes_with_a_manifest_of_every_file(folder):
    (folder / ".gitattributes").write_text("*.safetensors filter=lfs\n")
    manifest = validate_model_folder(folder)
    assert manifest.architecture == "LlamaForCausalLM" and manifest.model_type == "llama"
    assert [f.path for f in manifest.files] == ["config.json", "generation_config.json", "model.safetensors",
                                                "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]
    assert manifest.skipped == (".gitattributes",)
    assert manifest.size == sum((folder / f.path).stat().st_size for f in manifest.files)
    before = manifest.sha256
    (folder / "generation_config.json").write_text("{}")
    assert validate_model_folder(folder).sha256 != before


def refused(folder: Path, limits: FolderLimits | None = None) -> str:
    with pytest.raises(InvalidArgument) as caught:
        validate_model_folder(folder, limits)
    assert caught.value.field == "path"
    return caught.value.message


def test_a_missing_config_is_refused(folder):
    (folder / "config.json").unlink()
    assert refused(folder).startswith("config.json: missing")


def test_pickled_bin_weights_are_refused_with_the_reason(folder):
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    message = refused(folder)
    assert message.startswith("pytorch_model.bin: pickled weights run arbitrary code")


def test_a_symlink_that_leaves_the_folder_is_refused(folder, tmp_path):
    (tmp_path / "secret.txt").write_text("not yours")
    (folder / "notes").mkdir()
    (folder / "notes" / "readme.txt").symlink_to(tmp_path / "secret.txt")
    assert refused(folder) == "notes/readme.txt: a symlink that leaves the folder"
    (folder / "notes" / "readme.txt").unlink()
    (folder / "notes" / "readme.txt").symlink_to(folder / "config.json")  # inside: fine
    assert "notes/readme.txt" in [f.path for f in validate_model_folder(folder).files]


def test_an_oversized_file_is_refused(folder):
    size = (folder / "model.safetensors").stat().st_size
    message = refused(folder, FolderLimits(max_file_bytes=size - 1))
    assert message.startswith("model.safetensors: ") and f"at most {size - 1:,} per file" in message


def test_too_many_files_are_refused(folder):
    for i in range(5):
        (folder / f"extra-{i}.txt").write_text("x")
    # walked in name order: config.json, extra-0..4.txt, generation_config.json, model.safetensors, then the 9th
    assert refused(folder, FolderLimits(max_files=8)) == "special_tokens_map.json: the folder holds more than 8 files"


def test_a_folder_listing_more_entries_than_allowed_is_refused_before_it_is_read_whole(folder):
    (folder / "shards").mkdir()
    for i in range(20):
        (folder / "shards" / f"s{i}").write_text("x")
    assert refused(folder, FolderLimits(max_entries=12)) == "shards/: the folder holds more than 12 entries in all"


def test_an_unknown_or_non_causal_architecture_is_refused(folder):
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "architectures": ["MadeUpForCausalLM"]}))
    assert refused(folder).startswith("config.json: architectures 'MadeUpForCausalLM' name no causal-LM class")
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "bert", "architectures": ["BertModel"]}))
    assert "name no causal-LM class" in refused(folder)
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "nonsense"}))
    assert refused(folder).startswith("config.json: model_type 'nonsense' is not one transformers knows")


@pytest.mark.parametrize(("change", "expected"), [
    (lambda f: (f / "tokenizer.json").unlink(), "tokenizer_config.json: tokenizer files missing"),
    (lambda f: (f / "model.safetensors").write_bytes(b"\xff" * 64), "model.safetensors: not a safetensors file"),
    (lambda f: (f / "config.json").write_text("{not json"), "config.json: not valid JSON"),
    (lambda f: (f / "bad\tname.txt").write_text("x"), "'bad\\tname.txt': odd file name"),
    (lambda f: (f / "a" / "b" / "c" / "d" / "e").mkdir(parents=True), "a/b/c/d/e: nested deeper than 4 folders"),
])
def test_other_bad_folders_are_refused_naming_the_file(folder, change, expected):
    change(folder)
    assert refused(folder).startswith(expected)


def minimal_folder(root: Path) -> Path:
    """The smallest folder that passes: a Llama config, a one-tensor safetensors file, tokenizer files."""
    import numpy as np
    from safetensors.numpy import save_file

    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text(json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}))
    save_file({"w": np.zeros(2, dtype=np.float32)}, str(root / "model.safetensors"))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (root / name).write_text("{}")
    return root


@settings(max_examples=80, deadline=None)
@given(name=st.text(st.characters(blacklist_characters="/\x00"), min_size=1, max_size=60),
       data=st.binary(max_size=64))
def test_any_extra_file_is_either_listed_in_the_manifest_or_refused_naming_it(name, data):
    with tempfile.TemporaryDirectory() as tmp:
        folder = minimal_folder(Path(tmp) / "m")
        try:
            (folder / name).write_bytes(data)
        except (OSError, UnicodeEncodeError):  # a name the file system refuses (".", "..", too long, a lone surrogate)
            return
        try:
            manifest = validate_model_folder(folder)
        except InvalidArgument as exc:  # an odd name, or a required file overwritten with junk
            assert exc.field == "path" and exc.message.startswith((f"{name}: ", f"{quote(name)}: ")), exc.message
            return
        assert name in {f.path for f in manifest.files} | set(manifest.skipped)
