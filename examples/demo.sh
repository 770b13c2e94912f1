#!/usr/bin/env bash
# A real end-to-end run on the embedded default store (kept under .demo/ so it is easy to remove).
set -euo pipefail
here=$(pwd)/.demo
export ARTCLI_DATA_DIR=$here/data ARTCLI_CACHE_DIR=$here/cache ARTCLI_CONFIG_DIR=$here/config
rm -rf "$here" && mkdir -p "$here/mnist/train" "$here/mnist/test"
python3 - "$here/mnist" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(7)
for split, n in (("train", 40), ("test", 10)):
    for i in range(n):
        with open(os.path.join(root, split, f"{i:04d}.bin"), "wb") as fh:
            fh.write(rng.randbytes(rng.randint(1_000, 50_000)))
with open(os.path.join(root, "labels.csv"), "w") as fh:
    fh.write("id,label\n" + "".join(f"{i},{i % 10}\n" for i in range(50)))
PY
set -x
artcli log mnist "$here/mnist" --type dataset --alias raw --metadata rows=50
artcli log mnist "$here/mnist"                       # unchanged: same version, nothing uploaded
echo "one more row" >> "$here/mnist/labels.csv"
artcli log mnist "$here/mnist" --json
artcli ls
artcli ls mnist
artcli show mnist:raw
artcli download mnist --root "$here/out"             # latest = v1
diff -r "$here/out" "$here/mnist"                    # byte-identical to what was logged
artcli download mnist --root "$here/out" --json      # up to date: nothing transferred
artcli site --out "$here/site"                      # a static catalogue of the store (docs/site.md)
set +x
echo "demo OK: the store is in $here/data/store"
