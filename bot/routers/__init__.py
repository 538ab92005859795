"""One router per feature, built fresh for each dispatcher (several may live in one process,
e.g. two replicas in a test). The fallback router goes last: it takes what nothing else did."""

from aiogram import Router

from bot.routers import (
    admin,
    broadcast,
    cancel,
    credits,
    errors,
    fallback,
    generate,
    help,
    language,
    membership,
    models,
    payments,
    privacy,
    start,
    train,
)


def feature_routers() -> list[Router]:
    # Payments first: a successful payment is credited whatever wizard the user is in.
    # Admin routers next: their IsAdmin filter lets everyone else fall through.
    features = (
        errors,
        payments,
        admin,
        broadcast,
        membership,
        cancel,
        start,
        help,
        language,
        credits,
        privacy,
        train,
        generate,
        models,
    )
    return [feature.create_router() for feature in features] + [fallback.create_router()]
