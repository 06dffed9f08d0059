"""Every Parquet file under a folder opens with this environment's pandas (make test runs it
with pandas 2.2, the oldest supported, on a demo's outputs). Not a pytest module."""

import sys
from pathlib import Path

import pandas as pd

files = sorted(Path(sys.argv[1]).rglob("*.parquet"))
assert files, f"no Parquet file under {sys.argv[1]}"
for path in files:
    frame = pd.read_parquet(path)
    assert len(frame.columns), path
print(f"pandas {pd.__version__} reads all {len(files)} Parquet outputs")
