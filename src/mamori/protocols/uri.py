"""REST request URIs (``http.requestUri`` of botocore's models) compiled to fast matchers.

``UriTemplate.compile("/{Bucket}/{Key+}?uploads")`` gives a template whose ``match(raw_path)``
returns the labels (percent-decoded) or ``None``. ``{Name}`` matches one non-empty path
segment, ``{Name+}`` (greedy) one or more characters including ``/``. The literal query part
of the template is exposed as ``required_query`` (``{"uploads": None}``,
``{"x-id": "GetObject"}``): a router should require those keys (and values, where given) —
note that ``x-id`` is only a hint botocore adds; other SDKs may leave it out.
``specificity`` is a sort key: sort ascending and the most specific template comes first
(more literal path segments, then more required query keys, then non-greedy before greedy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import parse_qsl, unquote

__all__ = ["UriTemplate"]

_LABEL = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True)
class UriTemplate:
    template: str
    path: str
    labels: tuple[str, ...]
    greedy: str | None
    required_query: dict[str, str | None] = field(hash=False, compare=False)
    specificity: tuple = field(compare=False)
    _regex: re.Pattern = field(repr=False, compare=False)

    @staticmethod
    @cache
    def compile(request_uri: str) -> UriTemplate:
        path, _, query = request_uri.partition("?")
        required: dict[str, str | None] = {}
        if query:
            for part in query.split("&"):
                if not part:
                    continue
                if "=" in part:
                    name, value = parse_qsl(part, keep_blank_values=True)[0]
                    required[name] = value
                else:
                    required[unquote(part)] = None

        labels: list[str] = []
        greedy = None
        pattern = ["^"]
        pos = 0
        for m in _LABEL.finditer(path):
            pattern.append(re.escape(path[pos : m.start()]))
            name = m.group(1)
            group = f"g{len(labels)}"
            if name.endswith("+"):
                name = name[:-1]
                greedy = name
                pattern.append(f"(?P<{group}>.+)")
            else:
                pattern.append(f"(?P<{group}>[^/]+)")
            labels.append(name)
            pos = m.end()
        pattern.append(re.escape(path[pos:]))
        if not path.endswith("/"):
            pattern.append("/?")  # tolerate a trailing slash ("/bucket/")
        pattern.append("$")

        segments = [s for s in path.split("/") if s]
        literal_segments = sum(1 for s in segments if "{" not in s)
        literal_chars = len(_LABEL.sub("", path))
        specificity = (
            -literal_segments,
            -len(required),
            greedy is not None,
            -literal_chars,
            -len(segments),
        )
        return UriTemplate(
            template=request_uri,
            path=path,
            labels=tuple(labels),
            greedy=greedy,
            required_query=required,
            specificity=specificity,
            _regex=re.compile("".join(pattern), re.DOTALL),
        )

    def match(self, raw_path: str) -> dict[str, str] | None:
        """The percent-decoded labels if ``raw_path`` (still percent-encoded) fits, else None."""
        m = self._regex.match(raw_path)
        if m is None:
            return None
        if not self.labels:
            return {}
        return {
            name: unquote(value) if "%" in value else value
            for name, value in zip(self.labels, m.groups(), strict=True)
        }

    def query_matches(self, query: dict[str, list[str]]) -> bool:
        """Whether a request's query parameters hold every key (and value) the template requires."""
        for name, value in self.required_query.items():
            values = query.get(name)
            if values is None or (value is not None and value not in values):
                return False
        return True
