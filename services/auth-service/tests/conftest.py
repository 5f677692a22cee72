import sys
from pathlib import Path

SERVICE_DIR = Path(__file__).resolve().parents[1]
# The service module and the shared kit, as the image's PYTHONPATH=/app has them.
for path in (SERVICE_DIR, SERVICE_DIR.parent / "common"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
