import sys
from pathlib import Path

COMMON = Path(__file__).resolve().parents[1]
if str(COMMON) not in sys.path:
    sys.path.insert(0, str(COMMON))
