"""JSON inputs: a value nested deeper than labelport's limit, or holding a NUL, fails alone; the bracket nesting
that lets a large array skip the per-element walk is measured exactly (brackets inside strings do not count)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from labelport.formats.base import MAX_JSON_DEPTH, _nesting, iter_json_items

_TEXT = st.text(alphabet='[]{}"\\ab\n\x00é', max_size=6)
_VALUES = st.recursive(
    st.none() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=30,
)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@given(_VALUES, st.booleans())
def test_nesting_is_the_depth_of_the_value(value: Any, indent: bool) -> None:
    text = json.dumps(value, indent=1 if indent else None, ensure_ascii=indent).encode()
    assert _nesting(text) == _depth(value)


def test_a_deep_element_of_a_large_array_fails_alone() -> None:
    deep: Any = "x"
    for _ in range(MAX_JSON_DEPTH + 1):
        deep = {"k": deep}
    plain = [{"name": "row " + str(i) + " ]]]}}}", "points": [[i, i + 1]] * 20} for i in range(50)]
    text = json.dumps([*plain[:10], deep, *plain[10:], {"name": "a\x00b"}]).encode()
    items = list(iter_json_items(text))
    assert len(items) == 52
    failed = [(i, item.error) for i, item in enumerate(items) if item.error is not None]
    assert [i for i, _ in failed] == [10, 51]
    assert "nests JSON deeper than 64 levels" in str(failed[0][1]) and "NUL character" in str(failed[1][1])
    assert [item.value for item in items if item.error is None] == plain


def test_a_large_array_nested_up_to_the_limit_is_read_whole() -> None:
    deep: Any = "x"
    for _ in range(MAX_JSON_DEPTH - 1):
        deep = [deep]
    rows = [{"i": i, "text": "[[[[" * 30} for i in range(100)] + [deep]
    items = list(iter_json_items(json.dumps(rows).encode()))
    assert [item.error for item in items] == [None] * 101
    assert items[-1].value == deep
