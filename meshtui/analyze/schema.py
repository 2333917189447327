"""Loader diagnostics as analysis messages: objects left out for schema errors (IST0106), unknown
fields (IST0133), duplicates (MT0001), skipped kinds (MT0002), validation warnings (MT0003),
duplicate YAML keys (MT0004), namespaces outside MeshConfig discoverySelectors (MT0005), non-regular files
skipped (MT0006), cluster read warnings (MT0601), files layered over the cluster (MT0602) and a cluster MeshConfig that could
not be read (MT0603)."""

from __future__ import annotations

from collections.abc import Iterator

from meshtui.analyze.codes import level_of
from meshtui.analyze.context import Context
from meshtui.analyze.message import Message
from meshtui.analyze.registry import analyzer
from meshtui.model.source import ERROR


@analyzer("schema.LoaderDiagnostics",
          ("IST0106", "IST0133", "MT0001", "MT0002", "MT0003", "MT0004", "MT0005", "MT0006", "MT0601", "MT0602", "MT0603",
           "MT0604"),
          "Reports what the loader found while reading the sources: schema errors, unknown fields, duplicates",
          inputs=())
def loader_diagnostics(ctx: Context) -> Iterator[Message]:
    for d in getattr(ctx, "diagnostics", ()):
        if d.level == ERROR and d.message.startswith(("this document ", "the file ")):  # not YAML at all
            code = "IST0106"
            text = f"Schema validation error: {d.message}. It was left out of the analysis; the other documents were read."
        elif d.level == ERROR:
            code = "IST0106"
            text = (f"Schema validation error: {d.message}. The object was left out of the analysis and "
                    "the API server would reject it; fix this field.")
        else:
            code = d.code or "IST0133"
            text = d.message
            if code == "IST0133":
                text = f"Schema validation warning: {d.message}; Istio ignores it, so check the spelling and indentation."
        if not text.endswith((".", "?", "!")):
            text += "."
        yield Message(code, d.level if d.level != ERROR else level_of(code), d.kind, d.namespace, d.name, text,
                      d.source.file, d.source.line, d.source.path)
