"""Make the helper modules and the apps/ package next to the tests importable."""

import sys
from pathlib import Path

# tests/ holds helper modules (inprocess, ws_client_frames) and the apps/ package.
sys.path.insert(0, str(Path(__file__).parent))
