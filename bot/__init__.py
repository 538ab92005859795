"""AI portrait Telegram bot: personal models on Astria (through N8N), portraits for credits."""
