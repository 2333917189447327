"""Suppressions: `--suppress 'CODE=Kind name.ns'` (istioctl's form; `*` wildcards in both parts)
and istioctl's per-object annotation `galley.istio.io/analyze-suppress: "IST0101,IST0130"`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from meshtui.analyze.message import Message

ANNOTATION = "galley.istio.io/analyze-suppress"


@dataclass(frozen=True, slots=True)
class Suppression:
    code: str  # a code or a pattern: IST0101, IST01*, *
    resource: str  # `Kind name.ns`, `Kind ns/name`, with wildcards; `*` for any

    @classmethod
    def parse(cls, text: str) -> Suppression:
        code, sep, resource = text.partition("=")
        code, resource = code.strip(), resource.strip()
        if not sep or not code or not resource:
            raise ValueError(f"--suppress {text!r}: expected CODE=RESOURCE, e.g. 'IST0101=VirtualService reviews.default' "
                             "(wildcards allowed: 'IST0130=VirtualService *.prod')")
        return cls(code, resource)

    def matches(self, m: Message) -> bool:
        if not fnmatchcase(m.code, self.code):
            return False
        return any(fnmatchcase(name, self.resource) for name in resource_names(m))


def resource_names(m: Message) -> list[str]:
    """The spellings a suppression may use for the message's object."""
    if not m.kind:
        return [""]
    if not m.name:
        return [m.kind]
    if not m.namespace:
        return [f"{m.kind} {m.name}"]
    return [f"{m.kind} {m.name}.{m.namespace}", f"{m.kind} {m.namespace}/{m.name}"]


def annotation_codes(annotations: dict[str, str]) -> list[str]:
    raw = annotations.get(ANNOTATION, "")
    return [c.strip() for c in raw.split(",") if c.strip()]


def apply(messages: Iterable[Message], suppressions: Iterable[Suppression]) -> list[Message]:
    rules = list(suppressions)
    return [m for m in messages if not any(s.matches(m) for s in rules)]
