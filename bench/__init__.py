"""Scripts that print figures (python bench/<name>.py); not part of the bot."""
