"""Shared handling of bad input for the product's commands: exit 2, one line on stderr."""

from __future__ import annotations

from typing import NoReturn

from django.core.management.base import CommandError


def fail(message: str) -> NoReturn:
    raise CommandError(message.replace("\n", " "), returncode=2)
