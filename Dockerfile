# syntax=docker/dockerfile:1
# Production image: wheels are built in the first stage, the runtime stage installs only them
# and runs as an unprivileged user. Configuration comes only from ROOMBOT_* environment variables.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY handlers ./handlers
COPY config ./config
COPY emulator ./emulator
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ROOMBOT_STATE_URL=sqlite:////var/lib/roombot/roombot.db
RUN groupadd --system roombot && useradd --system --gid roombot --home-dir /var/lib/roombot roombot \
    && mkdir -p /var/lib/roombot && chown roombot:roombot /var/lib/roombot
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER roombot
WORKDIR /var/lib/roombot
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["roombot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
