"""Errors whose message is meant for the user (in Chinese)."""


class UserError(Exception):
    """Something the user can fix; ``str(exc)`` is a complete Chinese sentence."""


class PermissionDenied(UserError):
    """The acting user's role or township does not allow this."""


class Cancelled(Exception):
    """Long work stopped at the user's request; nothing was written."""
