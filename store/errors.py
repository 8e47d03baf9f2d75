"""Errors an operator can act on: each message says what was wrong and what to do."""

from __future__ import annotations


class BackroomError(Exception):
    """Base of every refusal backroom shows to an operator instead of a traceback. `field`
    names the input that was wrong (a form marks it), when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class ConfigError(BackroomError):
    """The configuration file or an override is invalid."""


class DatabaseError(BackroomError):
    """The database cannot be opened or is not at the schema this version needs."""


class NotFound(BackroomError):
    """No such order, customer, group or operator."""


class Refused(BackroomError):
    """A rule of the shop forbids the action (workflow, caps, states)."""


class ValidationError(BackroomError):
    """The input itself is malformed (an email, an amount, a code)."""


class PermissionDenied(BackroomError):
    """The operator's role does not allow the action."""


class Conflict(BackroomError):
    """Another operator changed the record since it was read; reload and try again."""


class NotAuthenticated(BackroomError):
    """A caller of the storefront API gave no API key, or one that is unknown or revoked."""


class UnknownOperator(BackroomError):
    """The login running backroom is not an operator of this shop."""


class PrintError(BackroomError):
    """A document could not be sent to the printer (no CUPS, an unknown or refusing printer);
    the PDF itself was written and is kept."""
