"""Everything the bot says on its own initiative, not as the reply to an update: job news and
portrait delivery (N8N callbacks, background jobs), redelivery and notices of the reconciler,
broadcast progress, grant and refund notices, admin alerts.

Each event becomes words (views) and buttons (keyboards) here, in the recipient's language,
and is sent through the Outbox with Telegram's retry rules. Routers, the web door and the
periodic workers call this package; services only return data or raise domain errors.
"""

from bot.outbound.alerts import AdminAlerts
from bot.outbound.outbox import Outbox

__all__ = ["AdminAlerts", "Outbox"]
