"""The request strategies themselves: every RPC of every service in the protos (the five to come
included) gets one, and they reach the hostile values the suite exists to send."""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import llmops
from llmops.common.v1 import common_pb2
from llmops.prompts.v1 import prompts_pb2
from llmops.registry.v1 import registry_pb2
from llmops_common.testing.fuzz import LONG_TEXT, describe, locations, messages, page_tokens, requests, rpcs, texts

QUICK = settings(max_examples=5, deadline=None, database=None, derandomize=True,
                 suppress_health_check=list(HealthCheck))


def all_rpcs():
    """Every RPC of every ``llmops/<service>/v1/*_pb2.py`` generated from protos/."""
    for root in llmops.__path__:
        for path in sorted(Path(root).glob("*/v1/*_pb2.py")):
            module = importlib.import_module(f"llmops.{path.parent.parent.name}.v1.{path.stem}")
            for service in module.DESCRIPTOR.services_by_name.values():
                yield from rpcs(service)


RPCS = list(all_rpcs())


def test_every_service_in_the_protos_is_listed():
    assert {r.path.split("/")[1].split(".")[1] for r in RPCS} >= {
        "registry", "prompts", "ingestion", "training", "serving", "evaluation", "monitoring"}


@pytest.mark.parametrize("rpc", RPCS, ids=lambda r: r.path)
def test_every_rpc_has_a_request_strategy(rpc):
    strategy = requests(rpc)

    @QUICK
    @given(strategy)
    def builds(request):
        sent = request if rpc.client_streaming else [request]
        for message in sent:
            assert isinstance(message, rpc.request) and message.ByteSize() >= 0

    builds()


def reached(strategy, wanted: dict[str, object], examples: int = 250) -> set[str]:
    """The names of the ``wanted`` predicates that no example out of ``examples`` satisfied."""
    missed = set(wanted)

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def sample(value):
        missed.difference_update({name for name in missed if wanted[name](value)})

    sample()
    return missed


def test_text_reaches_nul_long_values_and_mutated_real_names():
    assert not reached(texts(["fz-model"]), {
        "NUL": lambda v: "\x00" in v, "1 MiB": lambda v: v == LONG_TEXT, "real": lambda v: v == "fz-model",
        "real + newline": lambda v: v == "fz-model\n", "case variant": lambda v: v in ("FZ-MODEL", "Fz-Model"),
        "reserved name, other case": lambda v: v in ("Production", "PRODUCTION", "LATEST", "Latest"),
        "non-ASCII": lambda v: any(ord(c) > 127 for c in v)})


def test_messages_reach_every_field_kind_with_hostile_values():
    missed = reached(messages(registry_pb2.MetricGate.DESCRIPTOR), {
        "NaN threshold": lambda g: math.isnan(g.threshold),
        "infinite change": lambda g: math.isinf(g.min_relative_change),
        "optional unset": lambda g: not g.HasField("threshold"), "optional set": lambda g: g.HasField("threshold")},
        examples=400)
    missed |= reached(messages(registry_pb2.GetLineageRequest.DESCRIPTOR), {
        "int32 extreme": lambda m: m.max_depth in (-(2**31), 2**31 - 1),
        "int64 extreme": lambda m: m.version in (-(2**63), 2**63 - 1)})
    missed |= reached(messages(registry_pb2.SetPolicyRequest.DESCRIPTOR, {"alias": ["production"]}), {
        "real alias": lambda m: m.policy.alias == "production", "nested repeated": lambda m: len(m.policy.gates) > 1})
    missed |= reached(messages(common_pb2.TimeRange.DESCRIPTOR), {
        "timestamp past 9999": lambda m: m.start.seconds > 253402300799 or m.end.seconds > 253402300799,
        "nanos out of range": lambda m: not 0 <= m.start.nanos <= 999_999_999,
        "valid timestamp": lambda m: 1_600_000_000 < m.end.seconds < 1_900_000_000})
    missed |= reached(messages(prompts_pb2.CreateVersionRequest.DESCRIPTOR, {"tags.key": ["team"]}), {
        "oneof: chat": lambda m: m.WhichOneof("template") == "chat",
        "oneof: none": lambda m: m.WhichOneof("template") is None,
        "unknown enum": lambda m: any(v.type > 6 or v.type < 0 for v in m.variables),
        "Value default": lambda m: any(v.HasField("default_value") for v in m.variables),
        "Struct": lambda m: len(m.model_config.extra.fields) > 0})
    missed |= reached(messages(registry_pb2.CreateRegisteredModelRequest.DESCRIPTOR, {"tags.key": ["team"]}), {
        "map with a real key": lambda m: "team" in m.tags,
        "map with a NUL key": lambda m: any("\x00" in k for k in m.tags)})
    assert not missed


def test_locations_and_page_tokens_are_hostile():
    assert not reached(locations(["s3://llmops-models/m/v1"]), {
        "..": lambda u: "/../" in u, "whole bucket": lambda u: u.rstrip("/") == "s3://llmops-models",
        "host:port": lambda u: u.startswith("s3://127.0.0.1:9000/"), "space": lambda u: " " in u,
        "file": lambda u: u.startswith("file:///"), "real": lambda u: u == "s3://llmops-models/m/v1"})
    issued = "WyJhYmMiLCAxXQ=="
    assert not reached(page_tokens([issued]), {
        "issued": lambda t: t == issued,
        "one character changed":
            lambda t: len(t) == len(issued) and sum(a != b for a, b in zip(t, issued, strict=True)) == 1,
        "base64 JSON": lambda t: t.endswith("=") and t != issued})


def test_a_failing_request_is_described_in_one_short_line():
    shown = describe(registry_pb2.CreateRegisteredModelRequest(name=LONG_TEXT, tags={"k": "\x00"}))
    assert "\n" not in shown and len(shown) < 200 and f"({len(LONG_TEXT)} long)" in shown and "'\\x00'" in shown
