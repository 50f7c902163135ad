"""Command templates' ``{{ name }}`` variables: the names each kind of command may use, checked while loading."""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["COMMAND_VARIABLES", "TEMPLATE_NAME", "template_check"]

# What a deploy or rollback command may name as {{ name }}: the values are shell-quoted when substituted.
COMMAND_VARIABLES = ("service", "commit", "short_commit", "from_commit", "deploy_id")
TEMPLATE_NAME = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def template_check(known: tuple[str, ...]) -> Callable[[str], str]:
    """A validator: a template naming a variable outside ``known`` is a ValueError listing the known ones."""
    def check(value: str) -> str:
        for name in TEMPLATE_NAME.findall(value):
            if name not in known:
                raise ValueError(f"unknown variable {{{{ {name} }}}}; known: {', '.join(known)}")
        return value

    return check
