"""The fixed vocabularies the screens offer (statuses, roles, reasons, groups), so the GUI reads them through
core and imports no dao module."""

from dao.models import (
    ARREARS_ASSESSED,
    ARREARS_DECLARED,
    ARREARS_PAID,
    ARREARS_VOID,
    ENTRY_NAME_MISMATCH,
    ENTRY_NOT_IN_ROSTER,
    REFUND_DOCUMENTS,
    REFUND_REASONS,
    RESIDENT_STATUSES,
    ROLES,
    SPECIAL_GROUPS,
)
from dao.queries import ResidentFilter

__all__ = [
    "ARREARS_ASSESSED",
    "ARREARS_DECLARED",
    "ARREARS_PAID",
    "ARREARS_VOID",
    "ENTRY_NAME_MISMATCH",
    "ENTRY_NOT_IN_ROSTER",
    "REFUND_DOCUMENTS",
    "REFUND_REASONS",
    "RESIDENT_STATUSES",
    "ROLES",
    "SPECIAL_GROUPS",
    "ResidentFilter",
]
