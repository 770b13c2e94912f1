"""'Train' a majority-class model (stands in for real training)."""
import collections
import json
import pathlib
import sys

src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
labels = [r.split(",")[1] for r in (src / "labels.csv").read_text().splitlines()[1:]]
dst.mkdir(parents=True, exist_ok=True)
(dst / "model.json").write_text(json.dumps({"predict": collections.Counter(labels).most_common(1)[0][0]}))
