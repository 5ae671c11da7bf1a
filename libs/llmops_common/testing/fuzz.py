"""Hypothesis strategies that build any protobuf request from its descriptor, mixing plausible values
with hostile ones, and ``rpcs`` to list every method of a gRPC service with its request type.

Every field kind is covered: scalars of each width, strings and bytes, enums (unknown numbers too),
nested messages, repeated fields, maps, oneofs, proto3 ``optional`` presence, and the well-known
``Timestamp``, ``Struct``, ``Value`` and ``ListValue``. A request is plausible (real values from a
``Corpus`` of seeded names, versions and issued page tokens; fresh names; small numbers), hostile
throughout, or plausible with one hostile field, so a bad value reaches checks deep in a service.
Hostile strings are chosen by field name: ``*token*`` fields get forged page tokens, ``*uri*`` and
``*path*`` fields hostile locations, every other string NUL bytes, 1 MiB values, newline-suffixed and
case-changed reserved names, odd unicode and syntax; real values come mutated the same ways.
hypothesis has no protobuf support of its own (``from_type`` does not know messages), hence this module.
"""

from __future__ import annotations

import base64
import json
import math
import random
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.struct_pb2 import Value
from hypothesis import strategies as st

F = FieldDescriptor
LONG_TEXT = "x" * 2**20  #: a 1 MiB value, e.g. for a name in a Get
#: 10,000 pseudo-random letters: too long for a b-tree index row even after Postgres compresses it
INCOMPRESSIBLE_TEXT = "".join(random.Random(9).choices(string.ascii_letters, k=10_000))
#: the largest request built: under gRPC's default 4 MiB receive limit, so the service sees every one
MAX_REQUEST_BYTES = 3 * 2**20
RESERVED_NAMES = ("production", "staging", "latest", "champion")

#: hostile text by kind; each kind is drawn about as often as any other, however many values it has
HOSTILE_TEXT_KINDS: dict[str, tuple[str, ...]] = {
    "nul": ("\x00", "a\x00b", "\x00" * 8, "name\x00"),
    "long": (LONG_TEXT, "é" * 2**19, "x" * 65537, "x" * 256, INCOMPRESSIBLE_TEXT),
    "names": (*(v for name in RESERVED_NAMES for v in (name.upper(), name.title(), f"{name}\n", f" {name}")),
              "name\n", "\n", "\r\n", "a\rb", "\t", " padded ", "", " "),
    "unicode": ("ünïcödé", "名前", "😀", "\u202eevil", "zero\u200bwidth", "\ufeffbom", "e\u0301", "\uffff"),
    "syntax": ("'; DROP TABLE outbox; --", "%s", "%(x)s", "{0}", "{{ 7*7 }}", "${HOME}", "%", "_", "\\", "*", "..",
               "../..", ".", "/", "a/b", "-1", "0", "NaN", "null", "[]", "{}"),
}
HOSTILE_LOCATIONS: tuple[str, ...] = (
    "s3://llmops-models", "s3://llmops-models/", "s3://llmops-datasets", "s3://llmops-artifacts/",
    "s3://llmops-models/../llmops-datasets/x", "s3://llmops-models/a/../../b", "s3://llmops-models/./a",
    "s3://llmops-models/%2e%2e/x", "s3://127.0.0.1:9000/llmops-models/x", "s3://llmops-models:9000/x",
    "s3://llmops models/x", "s3:// /x", "s3://", "s3:///x", "s3://llmops-models//x", "s3://LLMOPS-MODELS/x",
    "S3://llmops-models/x", "s3:/llmops-models/x", "s3://llmops-models/x?versionId=1", "s3://llmops-models/x#f",
    "s3://llmops-models/x\x00y", "s3://llmops-models/x\n", "gs://bucket/x", "file:///etc/passwd", "/etc/passwd",
    "../../etc/passwd", "/proc/self/root/etc/passwd", "/proc/self/environ", "/tmp/../etc/shadow", "~/x",
    "//server/share",
    "http://169.254.169.254/latest/meta-data/", "models:/x/../y", "models:/", "models:/a@", "models:/a/-1",
    "models:/a/99999999999999999999", f"s3://llmops-models/{LONG_TEXT}",
)

#: templates that must neither stop a service nor hold its memory (issue 9); plus object reprs
HOSTILE_TEMPLATES: tuple[str, ...] = (
    "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    "{% for i in range(10**9) %}{% endfor %}",
    "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '%0999999999d'|format(1) }}",
    "{{ slice(10**9)|list }}",
    "{{ range(10**9)|list }}",
    "{{ 10**100**100**100 }}",
    "{% set ns = namespace(x=2) %}{% for i in range(64) %}{% set ns.x = ns.x * ns.x %}{% endfor %}{{ ns.x }}",
    "{{ 1e300 ** 2 }}",
    "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}",
    "{% for a in x %}" * 25 + "{% endfor %}" * 25,
    "{{ 'x' * 10**9 }}",
    "{{ x.upper }}", "{{ x|slice(3) }}", "{{ self }}", "{{ items|join(sep) }}",
    "{{ x.__class__.__mro__ }}", "{{ cycler.__init__.__globals__ }}", "{% include 'x' %}", "{% extends 'x' %}",
    "{{ x", "{% for %}", "{% endfor %}", "{{ undefined_var }}",
)
PLAIN_TEMPLATES: tuple[str, ...] = ("Hello {{ q }}", "plain text", "{{ q|upper }} and {{ q|length }}",
                                    "{% for i in items %}{{ i }},{% endfor %}", "{% if q %}{{ q }}{% endif %}", "")

_INT_RANGES = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1), F.TYPE_SINT32: (-(2**31), 2**31 - 1), F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_INT64: (-(2**63), 2**63 - 1), F.TYPE_SINT64: (-(2**63), 2**63 - 1), F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1), F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1), F.TYPE_FIXED64: (0, 2**64 - 1),
}
SPECIAL_FLOATS = (math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -0.0, 0.0, 0.5, 1.0, 30.0, 1e16)
#: Timestamp seconds: protobuf's range is 0001-01-01 .. 9999-12-31 (-62135596800 .. 253402300799)
TIMESTAMP_SECONDS = (0, -1, 4102444800, 253402300799, 253402300800, -62135596800, -62135596801, 2**63 - 1, -(2**63))
TIMESTAMP_NANOS = (0, 999_999_999, 1_000_000_000, -1, 2**31 - 1, -(2**31))

Corpus = Mapping[str, Sequence[Any]]
"""Real values by field name (``{"model_name": [...], "version": [1, 2], "page_token": [...]}``)."""
Overrides = Mapping[str, st.SearchStrategy[Any]]
"""Strategies for a field's whole value, keyed ``Message.field`` or plain ``field``."""


# -- values ------------------------------------------------------------------------------------------


def pick(values: Sequence[Any]) -> st.SearchStrategy[Any]:
    """``sampled_from(values)`` whose repr stays short however long the values are (hypothesis renders
    strategies in its reports, and a 1 MiB value would be rendered whole)."""
    values = tuple(values)
    return st.integers(0, len(values) - 1).map(values.__getitem__)


def mutations(real: Sequence[str]) -> st.SearchStrategy[str]:
    """Real values made hostile: newline-suffixed, case-changed, NUL-spliced, padded, doubled, truncated."""
    changes: tuple[Callable[[str], str], ...] = (
        lambda v: v + "\n", str.upper, str.title, lambda v: v + "\x00", lambda v: "\x00" + v, lambda v: f" {v} ",
        lambda v: v * 2, lambda v: v[:-1], lambda v: v + "/..", lambda v: v + "\r\n", lambda v: v + LONG_TEXT[:4096],
    )
    return st.builds(lambda v, change: change(v), pick(real), st.sampled_from(changes))


def texts(real: Sequence[str] = ()) -> st.SearchStrategy[str]:
    """Real values (often, and mutated), the hostile corpus, fresh plausible names and arbitrary text."""
    fresh = st.from_regex(r"fz[a-z0-9_-]{1,16}", fullmatch=True)
    with_nul = st.builds(lambda head, tail: f"{head}\x00{tail}", pick(real) if real else fresh, st.text(max_size=4))
    hostile = [pick(values) for values in HOSTILE_TEXT_KINDS.values()]
    choices = [*hostile, with_nul, fresh, st.text(max_size=24)]
    if real:
        choices = [pick(real), pick(real), mutations(real), *choices]
    return st.one_of(choices)


def _rewrites(uri: str) -> tuple[str, ...]:
    """``uri`` turned hostile: with host:port, a space in the bucket, a ``..`` segment, only its bucket."""
    scheme, sep, rest = uri.partition("://")
    bucket, _, key = rest.partition("/")
    if not sep:
        return (f"{uri}/../..", f"/..{uri}", f"{uri}\x00")
    return (f"{scheme}://127.0.0.1:9000/{rest}", f"{scheme}://{bucket}:9000/{key}", f"{scheme}://{bucket} x/{key}",
            f"{scheme}://{bucket}/../{key}", f"{scheme}://{bucket}/{key}/../..", f"{scheme}://{bucket}",
            f"{scheme}://{bucket}/", f"file:///{key}")


def locations(real: Sequence[str] = ()) -> st.SearchStrategy[str]:
    """URIs and paths: real ones, real ones rewritten or mutated, the hostile locations, any text."""
    choices = [pick(HOSTILE_LOCATIONS), texts()]
    if real:
        rewritten = pick([r for uri in real for r in _rewrites(uri)])
        choices = [pick(real), pick(real), rewritten, rewritten, mutations(real), *choices]
    return st.one_of(choices)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def json_values(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """JSON-like trees with hostile strings and keys, non-finite floats and int64 extremes."""
    leaves = st.one_of(st.none(), st.booleans(), st.sampled_from(SPECIAL_FLOATS), st.floats(),
                       st.sampled_from((2**63 - 1, -(2**63), 2**64, 0, 1)), st.integers(), texts())
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts(), inner, max_size=3),
                        max_leaves=max_leaves)


def page_tokens(issued: Sequence[str] = ()) -> st.SearchStrategy[str]:
    """Forged page tokens: random base64, base64 JSON of wrong types and counts, random text, and tokens
    the service issued with one character changed, truncated or extended."""
    forged_json = st.one_of(json_values(), st.lists(json_values(), max_size=4)).map(
        lambda v: _b64(json.dumps(v).encode()))
    choices = [forged_json, st.binary(max_size=48).map(_b64), texts(),
               st.sampled_from(("!!!", "====", "e30=", "W10=", "WyJhIl0=", "WzEsMiwzXQ==", "bnVsbA==", "%%%"))]
    if issued:
        def tamper(token: str, at: int, char: str) -> str:
            i = at % len(token) if token else 0
            return token[:i] + char + token[i + 1:]
        choices += [pick(issued),
                    st.builds(tamper, pick(issued), st.integers(0, 10**6),
                              st.sampled_from("AaZz09-_=.!")),
                    mutations(issued)]
    return st.one_of(choices)


def templates() -> st.SearchStrategy[str]:
    """Template text: ordinary templates, the hostile-template corpus, and arbitrary hostile text."""
    return st.one_of(st.sampled_from(PLAIN_TEMPLATES), pick(HOSTILE_TEMPLATES), texts())


def _integers(field: FieldDescriptor, real: Sequence[Any]) -> st.SearchStrategy[int]:
    low, high = _INT_RANGES[field.type]
    extremes = sorted({v for v in (low, high, low + 1, high - 1, -1, 0, 1, 2**31, 2**53 + 1) if low <= v <= high})
    choices = [st.integers(0, 5), st.sampled_from(extremes), st.integers(low, high)]
    ints = [v for v in real if isinstance(v, int) and not isinstance(v, bool) and low <= v <= high]
    if ints:
        choices = [st.sampled_from(ints), st.sampled_from(ints), *choices]
    return st.one_of(choices)


def _floats(field: FieldDescriptor, real: Sequence[Any]) -> st.SearchStrategy[float]:
    width = 32 if field.type == F.TYPE_FLOAT else 64
    special = [v for v in SPECIAL_FLOATS if math.isfinite(v) and (width == 64 or abs(v) < 1e38)]
    choices = [st.sampled_from((math.nan, math.inf, -math.inf)), st.sampled_from(special), st.floats(width=width)]
    numbers = [float(v) for v in real if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if numbers:
        choices.append(st.sampled_from(numbers))
    return st.one_of(choices)


# -- messages ----------------------------------------------------------------------------------------


def _set_value(target: Any, value: Any) -> None:
    """Fill a ``google.protobuf.Value`` from a JSON-like tree (NaN and infinities kept, unlike json_format)."""
    if value is None:
        target.null_value = 0
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, (int, float)):
        target.number_value = float(value)
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, list):
        target.list_value.SetInParent()
        for item in value:
            _set_value(target.list_value.values.add(), item)
    else:
        target.struct_value.SetInParent()
        for key, item in value.items():
            _set_value(target.struct_value.fields[key], item)


def _nested(depth: int) -> Any:
    """A dict nested ``depth`` levels deep (kept well under protobuf's parse recursion limit of 100)."""
    value: Any = "leaf"
    for _ in range(depth):
        value = {"k": value}
    return value


def _struct_trees(keys: Sequence[str]) -> st.SearchStrategy[dict[str, Any]]:
    key = texts(keys) if keys else texts()
    return st.one_of(st.dictionaries(key, json_values(), max_size=4), st.just(_nested(20)),
                     st.dictionaries(key, pick((LONG_TEXT[:200_000], [0] * 2_000, "\x00")), max_size=2))


def _plausible_json() -> st.SearchStrategy[Any]:
    return st.one_of(st.booleans(), st.floats(0, 100), st.integers(0, 100),
                     st.from_regex(r"[a-z ]{0,12}", fullmatch=True))


def _well_known(descriptor: Descriptor, keys: Sequence[str], hostile: bool) -> st.SearchStrategy[Message] | None:
    cls = message_factory.GetMessageClass(descriptor)
    name = descriptor.full_name
    if name == "google.protobuf.Timestamp":
        seconds: st.SearchStrategy[int] = st.integers(1_600_000_000, 1_900_000_000)
        nanos: st.SearchStrategy[int] = st.integers(0, 999_999_999)
        if hostile:
            seconds = st.one_of(st.integers(0, 4102444800), st.sampled_from(TIMESTAMP_SECONDS))
            nanos = st.one_of(st.just(0), nanos, st.sampled_from(TIMESTAMP_NANOS))
        return st.builds(lambda s, n: cls(seconds=s, nanos=n), seconds, nanos)
    if name in ("google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"):
        if hostile:
            trees = {"google.protobuf.Struct": _struct_trees(keys), "google.protobuf.Value": json_values(),
                     "google.protobuf.ListValue": st.lists(json_values(), max_size=4)}[name]
        else:
            key = pick(keys) if keys else st.from_regex(r"[a-z_]{1,8}", fullmatch=True)
            trees = {"google.protobuf.Struct": st.dictionaries(key, _plausible_json(), max_size=3),
                     "google.protobuf.Value": _plausible_json(),
                     "google.protobuf.ListValue": st.lists(_plausible_json(), max_size=3)}[name]

        def build(tree: Any) -> Message:
            holder = Value()
            _set_value(holder, tree)
            if name == "google.protobuf.Value":
                return holder
            return holder.struct_value if name == "google.protobuf.Struct" else holder.list_value

        return trees.map(build)
    return None


@dataclass(frozen=True)
class _Builder:
    """Strategies for the fields of a message: ``hostile`` ones, or ``plausible`` ones (real values,
    fresh names, small numbers, valid enums and timestamps) that reach past the first checks."""

    corpus: Corpus
    overrides: Overrides
    max_depth: int
    hostile: bool

    def message(self, descriptor: Descriptor, depth: int = 0, keys: Sequence[str] = ()) -> st.SearchStrategy[Message]:
        known = _well_known(descriptor, keys, self.hostile)
        if known is not None:
            return known
        cls = message_factory.GetMessageClass(descriptor)
        plain = [f for f in descriptor.fields if f.containing_oneof is None or _synthetic(f)]
        field_values = {f.name: self.field(descriptor, f, depth) for f in descriptor.fields}
        groups = [o for o in descriptor.oneofs if not _synthetic(o.fields[0])]

        @st.composite
        def build(draw: st.DrawFn) -> Message:
            msg = cls()
            for f in plain:  # plausible requests set most fields, hostile ones any subset
                if draw(st.booleans()) or (not self.hostile and draw(st.integers(0, 4)) > 0):
                    _assign(msg, f, draw(field_values[f.name]))
            for group in groups:
                members = st.sampled_from(list(group.fields))
                chosen = draw(st.none() | members if self.hostile else st.one_of(members, members, members, st.none()))
                if chosen is not None:
                    _assign(msg, chosen, draw(field_values[chosen.name]))
            return msg

        return build()

    def field(self, owner: Descriptor, field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
        for key in (f"{owner.name}.{field.name}", field.name):
            if key in self.overrides:
                return self.overrides[key]
        size = 3 if self.hostile else 2
        if _is_map(field):
            entry = field.message_type
            keys = self.single(entry, entry.fields_by_name["key"], depth)
            return st.dictionaries(keys, self.single(entry, entry.fields_by_name["value"], depth), max_size=size)
        element = self.single(owner, field, depth)
        return st.lists(element, max_size=size) if field.is_repeated else element

    def single(self, owner: Descriptor, field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
        """One value of ``field`` (an element, for repeated fields)."""
        name = field.name
        if owner.GetOptions().map_entry:  # map keys and values take the real values of the map field
            name = f"{owner.name.removesuffix('Entry').lower()}.{field.name}"
        real = list(self.corpus.get(name, self.corpus.get(field.name, ())))
        kind = field.type
        if kind == F.TYPE_MESSAGE:
            if depth >= self.max_depth:
                return st.just(message_factory.GetMessageClass(field.message_type)())
            return self.message(field.message_type, depth + 1, [v for v in real if isinstance(v, str)])
        if kind == F.TYPE_BOOL:
            return st.booleans()
        if kind not in _SCALARS:
            raise NotImplementedError(f"no strategy for field {field.full_name} of type {kind}")
        return _SCALARS[kind](field, real, self.corpus) if self.hostile else _plausible(field, real, self.corpus)


def _hostile_string(field: FieldDescriptor, real: list[Any], corpus: Corpus) -> st.SearchStrategy[str]:
    lowered, strings = field.name.lower(), [v for v in real if isinstance(v, str)]
    if "token" in lowered:
        return page_tokens(strings or list(corpus.get("page_token", ())))
    return locations(strings) if "uri" in lowered or "path" in lowered else texts(strings)


def _hostile_enum(field: FieldDescriptor, real: list[Any], corpus: Corpus) -> st.SearchStrategy[int]:
    numbers = [v.number for v in field.enum_type.values]
    return st.one_of(st.sampled_from(numbers), st.sampled_from(numbers), st.integers(-3, 1000),
                     st.sampled_from((2**31 - 1, -(2**31))))


_SCALARS: dict[int, Callable[[FieldDescriptor, list[Any], Corpus], st.SearchStrategy[Any]]] = {
    F.TYPE_STRING: _hostile_string,
    F.TYPE_BYTES: lambda f, r, c: st.one_of(st.binary(max_size=64),
                                            st.sampled_from((b"", b"\x00" * 16, b"\xff\xfe" * 8))),
    F.TYPE_DOUBLE: lambda f, r, c: _floats(f, r), F.TYPE_FLOAT: lambda f, r, c: _floats(f, r),
    F.TYPE_ENUM: _hostile_enum,
    **{kind: (lambda f, r, c: _integers(f, r)) for kind in _INT_RANGES},
}


def _plausible(field: FieldDescriptor, real: list[Any], corpus: Corpus) -> st.SearchStrategy[Any]:
    """A value a careful caller would send: a real one when the corpus has it, else a small valid one."""
    kind = field.type
    if kind == F.TYPE_STRING:
        strings = [v for v in real if isinstance(v, str)]
        if "token" in field.name.lower():
            strings = strings or list(corpus.get("page_token", ()))
            return st.one_of(st.just(""), pick(strings)) if strings else st.just("")
        fresh = st.from_regex(r"fz[a-z0-9]{1,8}", fullmatch=True)
        return st.one_of(pick(strings), pick(strings), fresh) if strings else fresh
    if kind == F.TYPE_BYTES:
        return st.binary(max_size=32)
    if kind == F.TYPE_ENUM:
        return st.sampled_from([v.number for v in field.enum_type.values])
    numbers = [v for v in real if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if kind in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return st.one_of(pick([float(v) for v in numbers]), st.floats(0, 100)) if numbers else st.floats(0, 100)
    ints = [v for v in numbers if isinstance(v, int)]
    return st.one_of(pick(ints), pick(ints), st.integers(0, 5)) if ints else st.integers(0, 5)


def _synthetic(field: FieldDescriptor) -> bool:
    """Whether ``field`` is a proto3 ``optional`` (its oneof is synthetic: ``_name`` with one member)."""
    oneof = field.containing_oneof
    return oneof is not None and len(oneof.fields) == 1 and oneof.name == f"_{field.name}"


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == F.TYPE_MESSAGE and field.is_repeated and field.message_type.GetOptions().map_entry


def _assign(msg: Message, field: FieldDescriptor, value: Any) -> None:
    target = getattr(msg, field.name)
    if _is_map(field):
        is_message = field.message_type.fields_by_name["value"].type == F.TYPE_MESSAGE
        for key, item in value.items():
            if is_message:
                target[key].CopyFrom(item)
            else:
                target[key] = item
    elif field.is_repeated:
        if field.type == F.TYPE_MESSAGE:
            for item in value:
                target.add().CopyFrom(item)
        else:
            target.extend(value)
    elif field.type == F.TYPE_MESSAGE:
        target.CopyFrom(value)
        target.SetInParent()
    else:
        setattr(msg, field.name, value)


def messages(descriptor: Descriptor, corpus: Corpus | None = None, overrides: Overrides | None = None,
             *, max_depth: int = 4) -> st.SearchStrategy[Message]:
    """Messages of ``descriptor`` at most MAX_REQUEST_BYTES long: plausible ones, hostile ones, and
    plausible ones with one top-level field hostile (which reach a check deep in the service with one
    bad value). Raises NotImplementedError at once for a field kind it cannot build, so a new kind
    fails the suite rather than going untested."""
    _check_supported(descriptor, set())
    plausible = _Builder(corpus or {}, overrides or {}, max_depth, hostile=False)
    hostile = _Builder(corpus or {}, overrides or {}, max_depth, hostile=True)
    fields = list(descriptor.fields)
    good, bad = plausible.message(descriptor), {f.name: hostile.field(descriptor, f, 0) for f in fields}

    @st.composite
    def one_bad_field(draw: st.DrawFn) -> Message:
        msg = draw(good)
        field = draw(st.sampled_from(fields))
        msg.ClearField(field.name)
        _assign(msg, field, draw(bad[field.name]))
        return msg

    choices = [good, hostile.message(descriptor), *([one_bad_field()] if fields else [])]
    return st.one_of(choices).filter(lambda m: m.ByteSize() <= MAX_REQUEST_BYTES)


def _check_supported(descriptor: Descriptor, seen: set[str]) -> None:
    if descriptor.full_name in seen or descriptor.full_name.startswith("google.protobuf."):
        return
    seen.add(descriptor.full_name)
    for field in descriptor.fields:
        if field.type not in _SCALARS and field.type not in (F.TYPE_BOOL, F.TYPE_MESSAGE):
            raise NotImplementedError(f"no strategy for field {field.full_name} of type {field.type}")
        if field.type == F.TYPE_MESSAGE:
            _check_supported(field.message_type, seen)


# -- services ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rpc:
    """One method of a gRPC service: its path, request/response classes and streaming kind."""

    name: str
    path: str
    request: type[Message]
    response: type[Message]
    client_streaming: bool
    server_streaming: bool

    @classmethod
    def of(cls, method: MethodDescriptor) -> Rpc:
        return cls(method.name, f"/{method.containing_service.full_name}/{method.name}",
                   message_factory.GetMessageClass(method.input_type),
                   message_factory.GetMessageClass(method.output_type),
                   method.client_streaming, method.server_streaming)


def rpcs(service: ServiceDescriptor) -> list[Rpc]:
    """Every method of ``service``, in declaration order."""
    return [Rpc.of(method) for method in service.methods]


def requests(rpc: Rpc, corpus: Corpus | None = None, overrides: Overrides | None = None,
             *, stream_size: int = 4) -> st.SearchStrategy[Message | list[Message]]:
    """What to send to ``rpc``: one message, or for client-streaming methods a short list of them."""
    one = messages(rpc.request.DESCRIPTOR, corpus, overrides)
    return st.lists(one, min_size=0, max_size=stream_size) if rpc.client_streaming else one


def describe(value: Any, limit: int = 60) -> str:
    """A compact, one-line rendering of a request (or a list of them): long strings are cut to a prefix
    with their length, so a failing example stays readable."""
    if isinstance(value, list):
        return "[" + ", ".join(describe(v, limit) for v in value) + "]"
    if isinstance(value, Message):
        parts = []
        for field, item in value.ListFields():
            if _is_map(field):
                shown = "{" + ", ".join(f"{describe(k, limit)}: {describe(v, limit)}" for k, v in item.items()) + "}"
            elif field.is_repeated:
                shown = "[" + ", ".join(describe(v, limit) for v in item) + "]"
            elif field.type == F.TYPE_ENUM:
                known = field.enum_type.values_by_number.get(item)
                shown = known.name if known else str(item)
            else:
                shown = describe(item, limit)
            parts.append(f"{field.name}={shown}")
        return f"{value.DESCRIPTOR.name}({', '.join(parts)})"
    if isinstance(value, (str, bytes)) and len(value) > limit:
        return f"{value[:limit]!r}…({len(value)} long)"
    return repr(value)
