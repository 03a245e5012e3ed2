"""The backup's fast tree encoder writes exactly the bytes ``codec.encode_tree`` does.

Tree ids are hashes of these bytes: a single differing byte would make every folder
look changed to an older version (and break deduplication of listings across
versions), so the two encoders are held equal over arbitrary entries.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.models import EntryType
from app.engine import codec
from app.engine.tree import Node
from tests.unit.test_formats import GOLDEN_NODES, GOLDEN_TREE_BYTES

_names = st.one_of(
    st.binary(min_size=1, max_size=40),
    st.text(min_size=1, max_size=20).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from([b'quo"te', b"back\\slash", b"tab\tnew\nline", b"\xff\xfe", "été €".encode()]),
)
_ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@st.composite
def _nodes(draw: st.DrawFn) -> Node:
    kind = draw(st.sampled_from(list(EntryType)))
    name, mode, mtime = draw(_names), draw(st.integers(0, 2**32 - 1)), draw(_ints)
    if kind is EntryType.FILE:
        ids = draw(st.lists(st.binary(min_size=32, max_size=32), max_size=4))
        return Node(name, kind, mode, mtime, size=draw(_ints), content=tuple(ids))
    if kind is EntryType.DIR:
        return Node(name, kind, mode, mtime, subtree=draw(st.binary(min_size=32, max_size=32)))
    return Node(name, kind, mode, mtime, target=draw(_names))


def _fast(node: Node) -> str:
    if node.type is EntryType.FILE:
        payload = b"".join(node.content)
    elif node.type is EntryType.DIR:
        payload = node.subtree or b""
    else:
        payload = node.target or b""
    return codec.entry_json(node.type, node.name, node.mode, node.mtime_ns, node.size, payload)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_nodes(), max_size=8))
def test_fast_entries_match_encode_tree(nodes: list[Node]) -> None:
    assert codec.tree_from_entries([_fast(n) for n in nodes]) == codec.encode_tree(nodes)


def test_fast_entries_match_the_documented_bytes() -> None:
    """The golden example of docs/FORMAT.md, fast path."""
    assert codec.tree_from_entries([_fast(n) for n in GOLDEN_NODES]) == GOLDEN_TREE_BYTES
