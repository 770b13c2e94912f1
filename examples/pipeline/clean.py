"""Drop rows without a label (stands in for real cleaning)."""
import pathlib
import sys

src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
dst.mkdir(parents=True, exist_ok=True)
rows = [r for r in (src / "labels.csv").read_text().splitlines() if not r.endswith(",")]
(dst / "labels.csv").write_text("\n".join(rows) + "\n")
