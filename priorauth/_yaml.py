"""The YAML rules every user file shares (case, policy, ``priorauth-templates.yaml``).

Safe loading is not enough for files people write by hand or machines hand over:

- ``!!set {a, b}`` becomes a Python set, whose order changes from run to run (letters must be
  byte-for-byte reproducible); ``!!omap``/``!!pairs`` become lists of tuples no field expects.
- ``<<: {...}`` merge keys let a duplicated field win silently (``given_name`` given twice, once
  through the merge), which the duplicate-key rule exists to catch.
- Aliases (``*name``) enable "billion laughs" blow-ups; no file of ours needs them.

:func:`refusal` names what is wrong with one node; :func:`strict_load` applies it (plus duplicate
keys and a depth limit) to a whole document and raises :class:`YAMLRefused` at the offending line,
a ``yaml.YAMLError`` so callers' existing handlers report it like a syntax error.
"""

from __future__ import annotations

from typing import Any

import yaml

_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MERGE_TAG = "tag:yaml.org,2002:merge"
_REFUSED_TAGS = {
    "tag:yaml.org,2002:set": "is a YAML set (!!set), whose order is not fixed; write a list "
                             "('- item' lines) instead",
    "tag:yaml.org,2002:omap": "is a YAML ordered map (!!omap); write plain 'key: value' lines",
    "tag:yaml.org,2002:pairs": "is a YAML pairs list (!!pairs); write plain 'key: value' lines",
    "tag:yaml.org,2002:binary": "is YAML binary data (!!binary); write the value as text",
}
MERGE_MESSAGE = ("uses a YAML merge key (<<:), which lets a repeated field win silently; write "
                 "the fields out in full")
ALIAS_MESSAGE = "uses a YAML alias (*name); write the value out in full"


def refusal(node: yaml.Node) -> str | None:
    """Why ``node`` may not stand in a user file (by its tag), or None."""
    return _REFUSED_TAGS.get(str(node.tag))


def is_merge_key(key_node: yaml.Node) -> bool:
    """``<<`` as a mapping key (resolved by YAML 1.1 to the merge tag)."""
    return str(key_node.tag) == MERGE_TAG


class YAMLRefused(yaml.MarkedYAMLError):
    """A document that parses but uses YAML we refuse (set, merge key, alias, duplicate key)."""

    def __init__(self, where: str, message: str, mark: yaml.Mark) -> None:
        super().__init__(problem=f"{where}: {message}" if where else message, problem_mark=mark)


def _path_text(path: tuple[str, ...]) -> str:
    return ".".join(path)


def check_document(root: yaml.Node, max_depth: int = 32) -> None:
    """Raise :class:`YAMLRefused` for the first refused construct in the composed document."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[str, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        where = _path_text(path)
        if id(node) in seen:
            raise YAMLRefused(where, ALIAS_MESSAGE, node.start_mark)
        seen.add(id(node))
        if len(path) > max_depth:
            raise YAMLRefused(where, f"is nested more than {max_depth} levels deep",
                              node.start_mark)
        reason = refusal(node)
        if reason is not None:
            raise YAMLRefused(where, reason, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                child = (*path, key[:40])
                if is_merge_key(key_node):
                    raise YAMLRefused(_path_text(child), MERGE_MESSAGE, key_node.start_mark)
                if not isinstance(key_node, yaml.ScalarNode):
                    raise YAMLRefused(where, "a key must be a plain word, not a list or mapping",
                                      key_node.start_mark)
                if key in keys:
                    raise YAMLRefused(_path_text(child), "appears twice; keep only one",
                                      key_node.start_mark)
                keys.add(key)
                stack.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, f"[{i}]")) for i, item in enumerate(node.value))


def strict_load(text: str, max_depth: int = 32) -> Any:
    """Safe-load one YAML document under the shared rules (raises ``yaml.YAMLError``)."""
    try:
        loader = _SafeLoader(text)
    except UnicodeError:  # a lone surrogate in text handed over by a caller (never from a file)
        raise YAMLRefused("", "contains a broken character (a lone surrogate); retype the text",
                          yaml.Mark("", 0, 0, 0, None, 0)) from None
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        check_document(root, max_depth)
        try:
            return loader.construct_document(root)
        except (ValueError, TypeError, AttributeError, OverflowError, LookupError):
            # PyYAML's constructors raise plain errors on values such as ``!!float abc``.
            raise YAMLRefused("", "a value cannot be read as the type its tag names",
                              root.start_mark) from None
    except RecursionError:
        raise YAMLRefused("", "is nested too deeply", yaml.Mark("", 0, 0, 0, None, 0)) \
            from None
    finally:
        loader.dispose()
