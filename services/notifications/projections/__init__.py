"""notifications: the projectors (the rules reactor and the read model with its outbox) and the
query functions that read them."""

from services.notifications.projections.reactor import NotificationRules
from services.notifications.projections.view import OUTBOX_CHANNEL, NotificationsView
from services.notifications.rules import acknowledgement_deadline_id
from shared.eventstore import Projector
from shared.settings import Settings


def projectors(settings: Settings) -> list[Projector]:
    return [NotificationRules(), NotificationsView()]


__all__ = [
    "OUTBOX_CHANNEL",
    "NotificationRules",
    "NotificationsView",
    "acknowledgement_deadline_id",
]
