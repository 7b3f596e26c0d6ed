# Watchkeeper server image: `docker build -t watchkeeper .`, then see docs/deploy.md.
# Wheels are built in a throwaway stage so the final image carries no compiler, cache or source.

FROM python:3.11-slim AS build
# Optional extras baked in: PostgreSQL driver (several replicas) and public-holiday calendars.
ARG EXTRAS=postgres,holidays
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[${EXTRAS}]"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=sqlite:////data/watchkeeper.db \
    LOG_FORMAT=json
RUN groupadd --system --gid 10001 watchkeeper \
 && useradd --system --uid 10001 --gid watchkeeper --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin watchkeeper \
 && install -d -o watchkeeper -g watchkeeper -m 0700 /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl && rm -rf /wheels
WORKDIR /data
USER 10001:10001
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]
CMD ["watchkeeper", "serve"]
