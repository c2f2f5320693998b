# Rapport's application image (used by docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY rapport ./rapport
RUN pip install --no-cache-dir ".[fast]" || pip install --no-cache-dir .
ENV RAPPORT_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8000
CMD ["rapport", "serve", "--host", "0.0.0.0", "--port", "8000"]
