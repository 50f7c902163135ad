"""``[deploy]`` (deny windows) and ``[groups.NAME]`` (the order a group's services deploy in)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from .schedule import Cron
from .types import Duration, Model, Name, NonBlank

__all__ = ["DenyWindow", "DeploySettings", "GroupConfig"]


class DenyWindow(Model):
    """One window in which deploys are refused (unless forced with a reason): it opens at each ``cron`` slot (in
    ``[schedule] timezone``) and lasts ``duration``."""

    cron: Cron
    duration: Annotated[Duration, Field(ge=1)]
    reason: NonBlank


class DeploySettings(Model):
    """``[deploy]``: rules every guarded deploy follows."""

    deny: list[DenyWindow] = Field(default_factory=list)
    lease: Annotated[Duration, Field(ge=3)] = 60  # a deploy whose process died is marked abandoned this long after


class GroupConfig(Model):
    """``[groups.NAME]``: ``deploy_order`` lists every service of the group once, in the order they deploy."""

    deploy_order: Annotated[list[Name], Field(min_length=1)]
