"""Client of the N8N workflows that drive Astria (seed `N8NService`).

Every request carries `X-N8N-Secret`. Network errors, timeouts and 5xx are retried a bounded
number of times with exponential backoff, always with the same body (hence the same
`request_id`, which N8N uses to answer a retry with the job it already started).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from loguru import logger


class N8NError(Exception):
    """N8N did not accept the request."""


class N8NUnavailable(N8NError):
    """Network error, timeout or 5xx, still failing after the retries."""


class N8NRejected(N8NError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"N8N answered {status}: {body[:200]}")
        self.status = status
        self.body = body


class N8NClient:
    def __init__(
        self,
        base_url: str,
        secret: str,
        *,
        timeout_seconds: float = 120.0,
        attempts: int = 3,
        backoff_seconds: float = 2.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.attempts = max(1, attempts)
        self.backoff_seconds = backoff_seconds
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, headers={"X-N8N-Secret": self.secret}
            )
        return self._session

    async def _post(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/{endpoint}"
        problem = ""
        for attempt in range(1, self.attempts + 1):
            try:
                async with self._client().post(url, json=body) as response:
                    text = await response.text()
                    if response.status < 300:
                        data = await response.json(content_type=None)
                        if not isinstance(data, dict):
                            raise N8NRejected(response.status, text)
                        return data
                    if response.status < 500:
                        raise N8NRejected(response.status, text)
                    problem = f"HTTP {response.status}: {text[:200]}"
            except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                problem = f"{type(error).__name__}: {error}"
            if attempt < self.attempts:
                delay = self.backoff_seconds * 2 ** (attempt - 1)
                logger.warning(
                    "N8N {} attempt {}/{} failed ({}); retrying in {:.1f}s",
                    endpoint,
                    attempt,
                    self.attempts,
                    problem,
                    delay,
                )
                await asyncio.sleep(delay)
        logger.warning("N8N {} failed after {} attempts: {}", endpoint, self.attempts, problem)
        raise N8NUnavailable(problem)

    @staticmethod
    def _id(data: dict[str, Any], field: str) -> str:
        value = data.get(field)
        if not isinstance(value, str | int) or not str(value):
            raise N8NRejected(200, f"answer without {field}: {data}")
        return str(value)

    async def train(
        self,
        *,
        request_id: str,
        telegram_id: int,
        model_name: str,
        model_type: str,
        images: list[str],
        callback_url: str,
    ) -> str:
        """Start training; returns N8N's `model_id`."""
        data = await self._post(
            "train",
            {
                "request_id": request_id,
                "telegram_id": telegram_id,
                "model_name": model_name,
                "model_type": model_type,
                "images": images,
                "callback_url": callback_url,
            },
        )
        return self._id(data, "model_id")

    async def generate(
        self,
        *,
        request_id: str,
        telegram_id: int,
        model_id: str,
        model_type: str,
        prompt: str,
        num_images: int,
        callback_url: str,
    ) -> str:
        """Start a generation; returns N8N's `prompt_id`."""
        data = await self._post(
            "generate",
            {
                "request_id": request_id,
                "telegram_id": telegram_id,
                "model_id": model_id,
                "model_type": model_type,
                "prompt": prompt,
                "num_images": num_images,
                "callback_url": callback_url,
            },
        )
        return self._id(data, "prompt_id")

    async def status(
        self, *, model_id: str | None = None, prompt_id: str | None = None
    ) -> dict[str, Any] | None:
        """The callback-shaped state of a job, or None when N8N does not know it."""
        body = {"model_id": model_id} if model_id is not None else {"prompt_id": prompt_id}
        try:
            return await self._post("status", body)
        except N8NRejected as error:
            if error.status == 404:
                return None
            raise

    async def delete_model(self, model_id: str) -> None:
        await self._post("delete-model", {"model_id": model_id})
