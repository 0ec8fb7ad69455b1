# trading-bot in a container: slim, non-root, the same two commands as on a machine.
#
#   docker build -t trading-bot .
#   docker run --rm -it trading-bot                       # the bot: paper, synthetic replay
#   docker run --rm -it trading-bot make run              # the same, as on a machine
#
#   docker build --build-arg TEST_TOOLS=true -t trading-bot-tests .   # + Chromium, systemd-analyze
#   docker run --rm -v /path/to/shared/data:/opt/shared/data:ro trading-bot-tests make test
#                                                         # make test, with the market data
#   docker compose -f deploy/compose.yaml up               # with PostgreSQL
#
# State (the SQLite database, logs, the health report) lives in /data; mount a volume there.
FROM python:3.11-slim-bookworm

# true: also what some tests use (the browser test's Chromium, systemd-analyze for the unit)
ARG TEST_TOOLS=false
RUN apt-get update \
    && apt-get install --yes --no-install-recommends make gcc libc6-dev \
    && if [ "$TEST_TOOLS" = true ]; then \
        apt-get install --yes --no-install-recommends chromium systemd; fi \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin trader \
    && install -d -o trader -g trader -m 700 /data

WORKDIR /opt/trading-bot
COPY --chown=trader:trader . .
USER trader
RUN make install && rm -rf ~/.cache/pip

ENV PATH="/opt/trading-bot/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    TRADING_BOT_STORAGE__DATABASE_URL="sqlite:////data/trading_bot.sqlite" \
    TRADING_BOT_LOGGING__FILE="/data/logs/trading-bot.jsonl" \
    TRADING_BOT_LOGGING__AUDIT_FILE="/data/logs/audit.jsonl" \
    TRADING_BOT_BOT__HEALTH_FILE="/data/trading_bot.health.json"
VOLUME ["/data"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s \
    CMD ["trading-bot", "health"]
# What `make run` runs, started directly so that the bot is PID 1 and `docker stop`'s SIGTERM
# reaches it: it stops gracefully and exits 0 (make would exit 2 after passing the signal on).
CMD ["trading-bot", "run"]
