# The image docker-compose.yml runs as web, worker and beat.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
COPY . .
RUN pip install --no-cache-dir -e . \
 && DEBUG=1 python manage.py collectstatic --noinput
RUN useradd --system --home /app okrplan && mkdir -p /app/var && chown okrplan /app/var
USER okrplan
EXPOSE 8000
