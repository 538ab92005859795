"""The one stale-button rule: a flow's buttons carry its current token, kept in the user's FSM
data (Redis in production, so every replica agrees). Issuing a new token makes every earlier
button of that flow stale; spending it makes the current ones stale too (answered once)."""

from __future__ import annotations

import secrets

from aiogram.fsm.context import FSMContext

from bot.callbacks import Flow

TOKENS_KEY = "tokens"  # FSM data: {flow: token}


async def _tokens(state: FSMContext) -> dict[str, str]:
    return dict((await state.get_data()).get(TOKENS_KEY) or {})


async def issue(state: FSMContext, flow: Flow) -> str:
    token = secrets.token_hex(8)
    tokens = await _tokens(state)
    tokens[flow] = token
    await state.update_data({TOKENS_KEY: tokens})
    return token


async def current(state: FSMContext, flow: Flow) -> str | None:
    return (await _tokens(state)).get(flow)


async def is_current(state: FSMContext, flow: Flow, token: str) -> bool:
    return bool(token) and token == await current(state, flow)


async def spend(state: FSMContext, flow: Flow, token: str) -> bool:
    """True once for the current token (one user's updates are handled one at a time)."""
    tokens = await _tokens(state)
    if not token or tokens.get(flow) != token:
        return False
    del tokens[flow]
    await state.update_data({TOKENS_KEY: tokens})
    return True
