# syntax=docker/dockerfile:1
# Two images from one file:
#   docker build --target api -t credit-scoring-api .   (needs the DVC artifacts below: dvc pull)
#   docker build --target ui  -t credit-scoring-ui .
# `make docker-check` runs both targets' install steps in throwaway venvs (no Docker engine needed).

FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLBACKEND=Agg
WORKDIR /app
RUN useradd --create-home --uid 10001 app

# The scoring API, serving the champion from its MLflow folder (no registry in the container).
# Only the API's pins (no pipeline tools, no Streamlit); pinned dependencies first (cached
# layer), then the package itself without resolving again.
FROM base AS api
# libgomp1: the OpenMP runtime that the LightGBM and XGBoost wheels load.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
COPY requirements-api.lock ./
RUN pip install -r requirements-api.lock
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-deps . \
    && mkdir -p /app/var \
    && chown app /app/var
USER app
COPY --chown=app params.yaml ./
COPY --chown=app models/champion ./models/champion
# No labelled row: the population statistics and SHAP background travel with the model.
COPY --chown=app data/processed/history.parquet ./data/processed/
COPY --chown=app data/interim/application_test.parquet ./data/interim/
ENV CREDIT_API_MODEL_URI="" \
    CREDIT_API_MODEL_PATH=models/champion \
    CREDIT_API_HISTORY_PATH=data/processed/history.parquet \
    CREDIT_API_CLIENTS_PATH=data/interim/application_test.parquet \
    CREDIT_API_PARAMS_PATH=params.yaml \
    CREDIT_API_DATABASE_URL=sqlite:////app/var/decisions.db
EXPOSE 8000
CMD ["sh", "-c", "exec uvicorn credit_scoring.api.asgi:app --host 0.0.0.0 --port ${PORT:-8000}"]

# The officer UI: only the UI's pins (Streamlit, httpx, Plotly; no MLflow, no model libraries),
# then the package without its API dependencies, which the UI never imports.
# CREDIT_UI_API_URL may be a bare host:port (Render's private network): the client assumes
# http:// then.
FROM base AS ui
COPY requirements-ui.lock ./
RUN pip install -r requirements-ui.lock
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-deps .
USER app
ENV CREDIT_UI_API_URL=http://127.0.0.1:8000 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
EXPOSE 8501
CMD ["sh", "-c", "exec streamlit run src/credit_scoring/ui/app.py --server.port ${PORT:-8501} --server.address 0.0.0.0 --server.headless true"]
