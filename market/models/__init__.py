"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from market.models.accounts import ApiToken, Company, CompanyKind, CompanyStatus, User, UserRole
from market.models.audit import AuditEvent
from market.models.base import UTCDateTime, utcnow
from market.models.taxonomy import Material, Process, ProcessFamily, ProcessMaterial

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Company",
    "CompanyKind",
    "CompanyStatus",
    "Material",
    "Process",
    "ProcessFamily",
    "ProcessMaterial",
    "User",
    "UserRole",
    "UTCDateTime",
    "utcnow",
]
