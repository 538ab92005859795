FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY locales ./locales
RUN pip install -e . \
    && useradd --create-home --uid 10001 bot \
    && mkdir -p /app/data /app/logs \
    && chown bot:bot /app/data /app/logs

USER bot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8080')}/healthz\", timeout=4)"
CMD ["python", "-m", "bot"]
