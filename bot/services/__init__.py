"""The rules of the bot. Services never import routers, keyboards or web."""
