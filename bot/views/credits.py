from aiogram.utils.i18n import gettext as _


def with_shortfall(text: str, cost: int, balance: int) -> str:
    """A summary, plus how many credits are missing when the balance does not cover `cost`."""
    if balance >= cost:
        return text
    return (
        text
        + "\n\n"
        + _("You need {missing} more credits. Top up with /credits, then come back.").format(
            missing=cost - balance
        )
    )
