FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# Exactly the locked runtime releases, each checked against its hash (requirements/runtime.txt, scripts/lock.sh),
# then the project itself without resolving anything more.
COPY requirements/runtime.txt ./requirements/runtime.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY config ./config
COPY care_events ./care_events
COPY notifications ./notifications
COPY tasks_app ./tasks_app
COPY intake ./intake
COPY reports ./reports
COPY demo ./demo
COPY manage.py ./
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
    && DJANGO_SETTINGS_MODULE=config.settings.local python manage.py collectstatic --noinput
# Every process of the image (web, workers, Beat, Flower, `docker compose exec web python manage.py ...`) runs
# with production settings unless told otherwise; the static files above were collected with local settings only
# because production ones need secrets a build does not have.
ENV DJANGO_SETTINGS_MODULE=config.settings.production
RUN useradd --system --uid 1000 sequora
USER sequora
EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
