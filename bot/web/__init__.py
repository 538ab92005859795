"""The aiohttp web app: Telegram webhook, N8N callbacks and health checks."""
