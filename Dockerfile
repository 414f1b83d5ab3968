# The parcours collector as an image: the wheel built from this tree, installed in a slim Python, run as an
# unprivileged user, its data in a volume. See docs/install.md.
#
# Not built by this repository's tests: their machines have no Docker engine. What it runs is the same wheel
# e2e/test_install.py builds, installs in a fresh virtualenv and serves from.
#
#   docker build -t parcours .
#   docker run -p 8000:8000 -v parcours-data:/data -v "$PWD/plan.yaml:/etc/parcours/plan.yaml:ro" \
#       -e PARCOURS_SECRET=… -e PARCOURS_ADMIN_TOKEN=… parcours

# 1. The tag and the dashboard, built with their pinned npm dependencies.
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY tag_js/ tag_js/
RUN cd tag_js && npm ci --no-audit --no-fund && npm run build
COPY journeys/dashboard/ journeys/dashboard/
RUN cd journeys/dashboard && npm ci --no-audit --no-fund && npm run build

# 2. The wheel, carrying the built tag and dashboard.
FROM python:3.11-slim-bookworm AS wheel
WORKDIR /src
COPY . .
COPY --from=assets /src/collector/static/ collector/static/
COPY --from=assets /src/journeys/dashboard/static/ journeys/dashboard/static/
RUN pip install --no-cache-dir build && python -m build --wheel --outdir /dist

# 3. The collector: the wheel alone, no source tree, no compiler.
FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin parcours \
    && mkdir -p /data /etc/parcours && chown parcours:parcours /data
COPY --from=wheel /dist/ /tmp/dist/
RUN pip install --no-cache-dir /tmp/dist/*.whl && rm -rf /tmp/dist
USER parcours
WORKDIR /data
# The embedded ClickHouse, the write-ahead log and generated files live in /data (a volume); the plan is
# mounted read-only. PARCOURS_SECRET and PARCOURS_ADMIN_TOKEN are given at run time, never baked in.
ENV PARCOURS_DATA=/data PARCOURS_PLAN=/etc/parcours/plan.yaml PARCOURS_HOST=0.0.0.0 PARCOURS_PORT=8000
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# SIGTERM: the collector stops taking requests and drains its log into ClickHouse (--shutdown-timeout, 30 s):
# give `docker stop` longer than that (docker stop -t 45).
STOPSIGNAL SIGTERM
ENTRYPOINT ["parcours"]
CMD ["serve"]
