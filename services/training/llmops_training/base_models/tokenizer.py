"""A byte-level BPE tokenizer trained locally with ``tokenizers``, saved in Hugging Face format.

Byte-level, so any text encodes (no unknown bytes); the special tokens take the first ids
(``<pad>`` 0, ``<unk>`` 1, ``<s>`` 2, ``</s>`` 3). Plain: no chat template and no post-processor,
so the training loop decides where ``<s>`` and ``</s>`` go. Training is single-threaded over a fixed
document order, so the same corpus gives the same ``tokenizer.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIAL_TOKENS = [PAD, UNK, BOS, EOS]


def train_tokenizer(documents: Sequence[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE of ``vocab_size`` tokens (specials included) on ``documents``."""
    if vocab_size < len(SPECIAL_TOKENS) + 256:
        raise ValueError(f"vocab_size must hold the 256 bytes and {len(SPECIAL_TOKENS)} special tokens")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    tokenizer = Tokenizer(models.BPE(unk_token=UNK))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(documents, trainer=trainer, length=len(documents))
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=BOS, eos_token=EOS, pad_token=PAD,
                                   unk_token=UNK, model_max_length=None, clean_up_tokenization_spaces=False)


def save_tokenizer(tokenizer: PreTrainedTokenizerFast, folder: Path, *, model_max_length: int) -> list[Path]:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json`` into ``folder``.

    transformers 5 no longer writes ``special_tokens_map.json`` and names its own class
    (``TokenizersBackend``) in the config; both are written the way transformers 4 loaders and other
    tools read them (in transformers 5, ``PreTrainedTokenizerFast`` is that same class).
    """
    tokenizer.model_max_length = model_max_length
    tokenizer.save_pretrained(folder)
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**config, "tokenizer_class": "PreTrainedTokenizerFast"}, indent=2,
                                      sort_keys=True) + "\n")
    special = folder / "special_tokens_map.json"
    special.write_text(json.dumps(tokenizer.special_tokens_map, indent=2, sort_keys=True) + "\n")
    return sorted(folder / name for name in ("tokenizer.json", config_path.name, special.name))
