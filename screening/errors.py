"""The screening app's one domain error for rules administration."""

from __future__ import annotations


class RuleSetRefused(Exception):
    """A rule-set file or change refused; the message names the node id and parameter.

    ``field`` names the form input at fault when there is one ("max_years",
    "change_note"); empty for a refusal about the whole action.
    """

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.message = message
