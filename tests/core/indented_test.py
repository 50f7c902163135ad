"""Indented JSON: always the text ``json.dumps(value, indent=2, ensure_ascii=False)`` writes."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deploywatch.core.indented import indented_json

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                      | st.dictionaries(st.text(max_size=5), inner, max_size=4)
                      | st.dictionaries(st.integers() | st.booleans() | st.none(), inner, max_size=2), max_leaves=30)


@given(values)
@settings(max_examples=400)
def test_the_text_is_what_json_dumps_writes(value: Any) -> None:
    assert indented_json(value) == json.dumps(value, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("value", [
    {"a": [1, 2.5, -0.0, 1e300, True, None, "é\u2028\"\\\n\x00"], "b": {}, "c": [], "d": {"e": {"f": []}}},
    [math.nan, math.inf, -math.inf], {1: "int key", None: "null key", 2.5: "float key"}, (1, (2, 3)),
])
def test_values_json_writes_in_its_own_way_are_written_as_it_does(value: Any) -> None:
    assert indented_json(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_a_cycle_is_the_error_json_raises() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        indented_json(loop)


def test_a_value_json_cannot_write_is_its_error() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        indented_json({"when": object()})
