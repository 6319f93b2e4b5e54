"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from market.models.accounts import ApiToken, Company, CompanyKind, CompanyStatus, User, UserRole
from market.models.audit import AuditEvent
from market.models.base import UTCDateTime, utcnow
from market.models.capacity import (
    LIVE_WINDOW_STATES,
    Capability,
    CapacityRule,
    CapacityWindow,
    Machine,
    MachineStatus,
    Plant,
    WindowStatus,
)
from market.models.matching import (
    LIVE_BOOKING_STATES,
    Booking,
    BookingStatus,
    MatchingRun,
    PlannedOperation,
    PlatformSetting,
    Quote,
    QuoteStatus,
    RunOrder,
    RunStatus,
)
from market.models.orders import (
    ORDER_STATUSES,
    Attachment,
    Order,
    OrderEvent,
    OrderOperation,
    OrderStatus,
)
from market.models.taxonomy import Material, Process, ProcessFamily, ProcessMaterial

__all__ = [
    "LIVE_BOOKING_STATES",
    "Booking",
    "BookingStatus",
    "MatchingRun",
    "PlannedOperation",
    "PlatformSetting",
    "Quote",
    "QuoteStatus",
    "RunOrder",
    "RunStatus",
    "ORDER_STATUSES",
    "Attachment",
    "Order",
    "OrderEvent",
    "OrderOperation",
    "OrderStatus",
    "LIVE_WINDOW_STATES",
    "CapacityRule",
    "CapacityWindow",
    "Capability",
    "Machine",
    "MachineStatus",
    "Plant",
    "WindowStatus",
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
