"""What a ``.dockerignore`` leaves in the build context, with Docker's rules (moby's
patternmatcher): patterns are matched in order and the last one that matches a path, or
one of its parent directories, decides; ``!`` re-includes; ``*`` and ``?`` stay within one
path segment, ``**`` spans any number of them."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath


def _regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.index("]", i)
            out.append(pattern[i : end + 1])
            i = end + 1
            continue
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


class DockerIgnore:
    def __init__(self, text: str) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            include = line.startswith("!")
            pattern = line[1:].strip() if include else line
            cleaned = str(PurePosixPath(pattern.strip("/"))) if pattern.strip("/") else "."
            self.rules.append((include, _regex(cleaned)))

    @classmethod
    def read(cls, path: Path) -> DockerIgnore:
        return cls(path.read_text())

    def excluded(self, path: str) -> bool:
        """Whether ``path`` (relative to the context, with '/') is left out."""
        parts = PurePosixPath(path).parts
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        verdict = False
        for include, regex in self.rules:
            if any(regex.match(candidate) for candidate in candidates):
                verdict = not include
        return verdict
