"""The HTTP API (FastAPI served by uvicorn inside the bot's own event loop) and its metrics."""
