"""The commit in a container image reference: its tag matched against a ``tag_pattern`` with a ``commit`` group.

``registry.example.com/team/web:sha-3f78685`` → tag ``sha-3f78685`` → ``3f78685`` with the default pattern (a
run of 7 to 40 hex digits). A reference without a tag, one pinned only by digest (``web@sha256:…``), and a tag
the pattern does not match give a reason instead: a digest names an image, not the commit it was built from.
"""

from __future__ import annotations

import re

from ...config.presets import DEFAULT_TAG_PATTERN
from .base import parse_revision

__all__ = ["commit_in_image", "commit_in_tag", "image_tag"]


def image_tag(image: str) -> str:
    """The tag of an image reference; ``ValueError`` (the reason) when it has none."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        tag = last.rsplit(":", 1)[1]
        if tag:
            return tag
    if digest:
        raise ValueError(f"image {image} is pinned by digest only (no tag): a digest does not name a commit; "
                         "tag the image with the commit")
    raise ValueError(f"image {image} has no tag (it runs :latest): tag the image with the commit")


def commit_in_tag(tag: str, pattern: str | None, what: str) -> str:
    """The ``commit`` group of ``pattern`` (default: a 7-40 hex run) searched in ``tag``; ``ValueError`` when it
    does not match (``what`` names where the tag came from)."""
    regex = re.compile(pattern or DEFAULT_TAG_PATTERN)
    found = regex.search(tag)
    commit = found.group("commit") if found else None
    if not commit:
        shown = f"tag_pattern {pattern!r}" if pattern else "the default tag_pattern (7-40 hex digits)"
        raise ValueError(f"{what} {tag!r} does not match {shown}")
    try:
        return parse_revision(commit)
    except ValueError as exc:
        raise ValueError(f"{what} {tag!r}: the commit group {exc}") from None


def commit_in_image(image: str, pattern: str | None) -> str:
    """The commit an image reference's tag names; ``ValueError`` (the reason) when it names none."""
    return commit_in_tag(image_tag(image), pattern, f"image {image.partition('@')[0]}: tag")
