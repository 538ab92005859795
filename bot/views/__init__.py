"""What the user reads: domain objects turned into texts and keyboards. Shared by the two
doors (routers for Telegram updates, web for N8N callbacks)."""
