"""Safe YAML reading that remembers where every key and value came from.

Config files are untrusted input: only PyYAML's SafeLoader ever constructs data (a
`!!python/object` tag is an error, never an object), the size, alias expansion and
nesting depth are bounded, and line numbers are kept so that problems can point at
the exact line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path = tuple[str | int, ...]

MAX_CHARS = 256 * 1024
MAX_NODES = 20_000  # after alias expansion: a "billion laughs" file stops here
MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a config file, located where possible (1-based line/column)."""

    source: str
    line: int | None
    column: int | None
    message: str
    hint: str = ""

    def __str__(self) -> str:
        """One line: "file:line: message (hint: ...)"."""
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        text = f"{where}: {self.message}"
        text = f"{text} (hint: {self.hint})" if self.hint else text
        return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class Document:
    """Parsed data plus the position of each value (and each mapping key) by path."""

    source: str
    data: object
    value_marks: Mapping[Path, tuple[int, int]] = field(default_factory=dict)
    key_marks: Mapping[Path, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Path, *, key: bool = False) -> tuple[int | None, int | None]:
        """The (line, column) of `path`'s key or value, else of its nearest ancestor."""
        marks = (self.key_marks, self.value_marks) if key else (self.value_marks, self.key_marks)
        for end in range(len(path), -1, -1):
            for table in marks:
                if path[:end] in table:
                    return table[path[:end]]
        return (None, None)


def format_path(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


def _mark(node: Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


# Plain YAML only: anything else (a `!!python/...` or custom `!tag`) is refused before
# any construction happens.
_ALLOWED_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map", "merge")
)


def _expanded_size(node: Node, memo: dict[int, int], active: set[int], depth: int) -> int:
    """Nodes in the tree the document expands to (aliases counted each time they occur)."""
    if node.tag not in _ALLOWED_TAGS:
        raise _Refused(node)
    if depth > MAX_DEPTH:
        raise _TooComplex(f"nested deeper than {MAX_DEPTH} levels", node)
    known = memo.get(id(node))
    if known is not None:
        return known
    if id(node) in active:
        raise _TooComplex("an alias refers to the node that contains it", node)
    active.add(id(node))
    size = 1
    if isinstance(node, SequenceNode):
        for child in node.value:
            size += _expanded_size(child, memo, active, depth + 1)
    elif isinstance(node, MappingNode):
        for key, value in node.value:
            size += _expanded_size(key, memo, active, depth + 1)
            size += _expanded_size(value, memo, active, depth + 1)
    active.discard(id(node))
    if size > MAX_NODES:
        raise _TooComplex(f"more than {MAX_NODES} values once aliases are expanded", node)
    memo[id(node)] = size
    return size


class _TooComplex(Exception):
    def __init__(self, message: str, node: Node) -> None:
        super().__init__(message)
        self.node = node


class _Refused(Exception):
    def __init__(self, node: Node) -> None:
        super().__init__(node.tag)
        self.node = node


def _refused_tags(root: Node) -> list[Node]:
    """Every node with a tag that is not plain YAML, in document order."""
    found: list[Node] = []
    seen: set[int] = set()
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.tag not in _ALLOWED_TAGS:
            found.append(node)
        if isinstance(node, SequenceNode):
            stack.extend(reversed(node.value))
        elif isinstance(node, MappingNode):
            for key, value in reversed(node.value):
                stack.extend((value, key))
    return sorted(found, key=lambda n: (n.start_mark.line, n.start_mark.column))


def _collect_marks(
    node: Node, path: Path, doc: _Marks, problems: list[Problem], source: str
) -> None:
    doc.values.setdefault(path, _mark(node))
    if isinstance(node, SequenceNode):
        for index, child in enumerate(node.value):
            _collect_marks(child, (*path, index), doc, problems, source)
    elif isinstance(node, MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                continue  # reported by validation: keys must be strings
            name = str(key_node.value)
            if name in seen:
                line, column = _mark(key_node)
                problems.append(
                    Problem(source, line, column, f"duplicate key {format_path((*path, name))}",
                            "only the last one counts; remove the other")
                )
            seen.add(name)
            doc.keys.setdefault((*path, name), _mark(key_node))
            _collect_marks(value_node, (*path, name), doc, problems, source)


@dataclass
class _Marks:
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)


def _syntax_problem(source: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    column = mark.column + 1 if mark else None
    message = " ".join(str(part) for part in (exc.context, exc.problem) if part)
    return Problem(source, line, column, f"invalid YAML: {message}",
                   "check the indentation, quotes and brackets around this line")


class _Loader(yaml.SafeLoader):
    """SafeLoader, except that an impossible date ("2025-13-01") stays a string, so
    validation can point at its line instead of the whole file failing."""

    def construct_yaml_timestamp(  # type: ignore[override]  # a bad date stays a string
            self, node: ScalarNode) -> object:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def parse(text: str, source: str) -> tuple[Document | None, list[Problem]]:
    """Parse `text` with SafeLoader. None (with problems) when it cannot be used at all.

    An empty document parses to a Document whose data is None.
    """
    if len(text) > MAX_CHARS:
        return None, [Problem(source, None, None, f"file is larger than {MAX_CHARS} characters",
                              "keep the config file small")]
    try:
        loader = _Loader(text)
    except yaml.YAMLError as exc:  # a character YAML does not allow
        reason = getattr(exc, "reason", "unreadable text")
        return None, [Problem(source, None, None, f"invalid YAML: {reason}",
                              "remove control characters from the file")]
    try:
        node = loader.get_single_node()
        if node is None:
            return Document(source, None), []
        _expanded_size(node, {}, set(), 0)
        data = loader.construct_document(node)
        marks = _Marks()
        problems: list[Problem] = []
        _collect_marks(node, (), marks, problems, source)
    except _Refused:
        return None, [
            Problem(source, *_mark(bad), f"tag {bad.tag!r} is not allowed",
                    "only plain YAML is accepted: remove the tag")
            for bad in _refused_tags(cast(Node, node))
        ]
    except _TooComplex as exc:
        return None, [Problem(source, *_mark(exc.node), f"YAML is too complex: {exc}",
                              "write the values out plainly")]
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(source, exc)]
    except RecursionError:
        return None, [Problem(source, None, None, "YAML is too complex: nested too deeply",
                              "write the values out plainly")]
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        return None, [Problem(source, None, None, f"invalid YAML: {type(exc).__name__}",
                              "check the file with a YAML linter")]
    finally:
        loader.dispose()
    return Document(source, data, marks.values, marks.keys), problems
