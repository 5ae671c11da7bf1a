"""The preparation configuration: every step, validated, with the service defaults, and its hash."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from llmops_common.errors import InvalidArgument
from llmops_common.validation import check_data
from llmops_ingestion.domain.pii import DEFAULT_PHONE_REGIONS, PII_KINDS
from llmops_ingestion.domain.pii_numbers import check_regions


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, str_max_length=4096)


class NormalizeStep(_Step):
    enabled: bool = True
    form: Literal["NFC", "NFKC", "NFD", "NFKD"] = "NFC"


class LengthFilterStep(_Step):
    enabled: bool = True
    min_chars: int = Field(default=1, ge=0)
    max_chars: int = Field(default=0, ge=0, description="0 = no maximum")
    min_tokens: int = Field(default=0, ge=0)
    max_tokens: int = Field(default=0, ge=0, description="0 = no maximum")
    tokenizer: str = Field(default="whitespace", description="'whitespace' or a local tokenizer.json path")

    @model_validator(mode="after")
    def _ranges(self) -> LengthFilterStep:
        if self.max_chars and self.max_chars < self.min_chars:
            raise ValueError(f"max_chars ({self.max_chars}) is below min_chars ({self.min_chars})")
        if self.max_tokens and self.max_tokens < self.min_tokens:
            raise ValueError(f"max_tokens ({self.max_tokens}) is below min_tokens ({self.min_tokens})")
        return self


class DedupStep(_Step):
    exact: bool = True
    near: bool = True
    threshold: float = Field(default=0.8, gt=0.0, lt=1.0)
    num_perm: int = Field(default=128, ge=16, le=1024)
    shingle_size: int = Field(default=3, ge=1, le=16)


class PiiStep(_Step):
    enabled: bool = True
    kinds: tuple[str, ...] = ()
    phone_regions: tuple[str, ...] = Field(
        default=DEFAULT_PHONE_REGIONS,
        description="ISO 3166-1 regions whose national phone formats are recognised, in the order tried; "
        "empty = the default set",
    )

    @field_validator("kinds")
    @classmethod
    def _known(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(kinds) - set(PII_KINDS))
        if unknown:
            raise ValueError(f"unknown PII kinds {unknown}; known: {list(PII_KINDS)}")
        return tuple(sorted(set(kinds)))

    @field_validator("phone_regions")
    @classmethod
    def _regions(cls, regions: tuple[str, ...]) -> tuple[str, ...]:
        return check_regions(regions) if regions else DEFAULT_PHONE_REGIONS


class SplitStep(_Step):
    validation_fraction: float = Field(default=0.05, ge=0.0, lt=1.0)
    test_fraction: float = Field(default=0.05, ge=0.0, lt=1.0)
    salt: str = ""

    @model_validator(mode="after")
    def _sum(self) -> SplitStep:
        if self.validation_fraction + self.test_fraction >= 1.0:
            raise ValueError("validation_fraction + test_fraction must leave room for a training split")
        return self


class BadRecordPolicy(StrEnum):
    FAIL = "fail"
    SKIP = "skip"


class PreparationConfig(_Step):
    normalize: NormalizeStep = NormalizeStep()
    length_filter: LengthFilterStep = LengthFilterStep()
    dedup: DedupStep = DedupStep()
    pii: PiiStep = PiiStep()
    split: SplitStep = SplitStep()
    bad_record_policy: BadRecordPolicy = BadRecordPolicy.FAIL

    def config_hash(self) -> str:
        """Hash of what changes the prepared records (the bad-record policy does not)."""
        canonical = self.model_dump(mode="json", exclude={"bad_record_policy"})
        return hashlib.blake2b(json.dumps(canonical, sort_keys=True).encode(), digest_size=16).hexdigest()


def parse_config(data: dict[str, Any] | None, *, where: str = "preparation") -> PreparationConfig:
    """Validate a config mapping; errors name the offending field path."""
    check_data(data or {}, where)
    try:
        return PreparationConfig.model_validate(data or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join([where, *map(str, err['loc'])])}: {err['msg']}" for err in exc.errors()
        )
        raise InvalidArgument(problems) from None
