# orders image; the build context is apps/ (the stub service in apps/stub is shared).
FROM public.ecr.aws/docker/library/python:3.12.7-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 SERVICE=orders ROUTE=/orders HEALTH_PATH=/status PORT=3000
WORKDIR /app
COPY stub/stub_service.py /app/
RUN python -m compileall -q /app
USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/status')"]
CMD ["python", "/app/stub_service.py"]
