"""LoRA adapters on one base model, at most ``capacity`` in memory, the least recently used evicted
first; an adapter a running sequence uses is pinned and never evicted.

Each adapter is injected with PEFT and its weights loaded with ``set_peft_model_state_dict``, then
checked: PEFT only warns about missing or unexpected keys (an adapter for another model would load
as zeros), so here either is an error and the half-loaded adapter is removed again.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from llmops_common.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted

BASE = "__base__"  # PEFT's name for "no adapter" in a mixed batch


class AdapterLoadError(InvalidArgument):
    """The adapter folder does not fit the base (config, keys or shapes)."""


class AdapterSet:
    def __init__(self, base: Any, capacity: int) -> None:
        self.base = base
        self.model = base  # becomes the PeftModel once an adapter is loaded
        self.capacity = capacity
        self._order: OrderedDict[str, None] = OrderedDict()
        self._pins: dict[str, int] = {}
        self._lock = threading.RLock()
        self._lora_on: bool | None = None  # None: unknown (after a load or an unload)

    @property
    def names(self) -> list[str]:
        return list(self._order)

    def __contains__(self, name: str) -> bool:
        return name in self._order

    def load(self, name: str, folder: Path) -> None:
        """Load the PEFT LoRA adapter in ``folder`` as ``name`` (the caller runs this between steps)."""
        from peft import LoraConfig, PeftModel, set_peft_model_state_dict
        from safetensors.torch import load_file

        with self._lock:
            if name in self._order:
                raise FailedPrecondition(f"adapter {name!r} is already loaded", field="adapter")
            config = _lora_config(folder, LoraConfig)
            weights = load_file(folder / "adapter_model.safetensors", device=str(_device(self.base)))
            self._victim()  # ResourceExhausted before any work when every slot is pinned
            if self.model is self.base:
                self.model = PeftModel(self.base, config, adapter_name=name)
            else:
                self.model.add_adapter(name, config)
            try:
                result = set_peft_model_state_dict(self.model, weights, adapter_name=name)
                _check_keys(name, result)
            except (RuntimeError, ValueError, KeyError, TypeError) as exc:  # shapes, keys, dtypes
                self._drop(name)
                raise AdapterLoadError(f"adapter {name!r} does not fit the base model: {str(exc)[:300]}",
                                       field="adapter") from None
            self._make_room()  # only now: a broken adapter evicts nothing
            self.model.eval()
            self.model.requires_grad_(False)
            self._order[name] = None
            self._lora_on = None

    def forward_kwargs(self, names: list[str]) -> dict[str, Any]:
        """What a step whose rows use ``names`` passes to the model. A step of base rows only runs with
        the LoRA layers switched off: PEFT's mixed-batch path costs about 14% of a decode step even
        when every row is ``__base__``."""
        if self.model is self.base:
            return {}
        base_only = all(name == BASE for name in names)
        if self._lora_on is not (not base_only):
            if base_only:
                self.model.base_model.disable_adapter_layers()
            else:
                self.model.base_model.enable_adapter_layers()
            self._lora_on = not base_only
        return {} if base_only else {"adapter_names": names}

    def unload(self, name: str) -> None:
        with self._lock:
            if name not in self._order:
                raise NotFound(f"adapter {name!r} is not loaded", field="adapter")
            if self._pins.get(name):
                raise FailedPrecondition(f"adapter {name!r} is in use", field="adapter")
            self._drop(name)
            del self._order[name]

    def pin(self, name: str) -> None:
        with self._lock:
            if name != BASE:
                if name not in self._order:
                    raise NotFound(f"adapter {name!r} is not loaded", field="adapter")
                self._order.move_to_end(name)
            self._pins[name] = self._pins.get(name, 0) + 1

    def unpin(self, name: str) -> None:
        with self._lock:
            left = self._pins.get(name, 0) - 1
            if left > 0:
                self._pins[name] = left
            else:
                self._pins.pop(name, None)

    def adapter_bytes(self) -> int:
        return sum(p.numel() * p.element_size() for n, p in self.model.named_parameters() if "lora_" in n)

    def _victim(self) -> str | None:
        """The adapter to evict for one more (None while there is room); ResourceExhausted if all are pinned."""
        if len(self._order) < self.capacity:
            return None
        victim = next((n for n in self._order if not self._pins.get(n)), None)
        if victim is None:
            raise ResourceExhausted(f"all {self.capacity} adapter slots are in use", retry_after=1.0)
        return victim

    def _make_room(self) -> None:
        while (victim := self._victim()) is not None:
            self._drop(victim)
            del self._order[victim]

    def _drop(self, name: str) -> None:
        self._lora_on = None
        if self.model is not self.base and name in self.model.peft_config:
            if len(self.model.peft_config) == 1:
                self.model = self.model.unload()  # the last adapter: back to the plain base
                self.base = self.model
            else:
                self.model.delete_adapter(name)


def _device(model: Any) -> Any:
    return next(model.parameters()).device


def _lora_config(folder: Path, config_class: Any) -> Any:
    path = folder / "adapter_config.json"
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise AdapterLoadError(f"{path.name}: unreadable ({exc.__class__.__name__})", field="adapter") from None
    if not isinstance(raw, dict) or raw.get("peft_type") != "LORA":
        raise AdapterLoadError(f"{path.name}: not a LoRA adapter config", field="adapter")
    if not (folder / "adapter_model.safetensors").is_file():
        raise AdapterLoadError("adapter_model.safetensors is missing", field="adapter")
    config = config_class.from_pretrained(str(folder))
    config.inference_mode = True
    return config


def _check_keys(name: str, result: Any) -> None:
    missing = [k for k in result.missing_keys if "lora_" in k and f".{name}." in k]
    unexpected = list(result.unexpected_keys)
    if missing or unexpected:
        raise ValueError(f"missing keys {missing[:3]}, unexpected keys {unexpected[:3]}")
