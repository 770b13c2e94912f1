#!/usr/bin/env bash
# A small ML pipeline on a local store, then its static catalogue (docs/site.md): four runs,
# typed metadata, an alias moved, a registry link. Writes .catalogue/site/index.html.
#   bash examples/catalogue.sh            (artcli on PATH; `make screenshot` runs it)
set -euo pipefail
here=$(pwd)/.catalogue
export ARTCLI_DATA_DIR=$here/data ARTCLI_CACHE_DIR=$here/cache ARTCLI_CONFIG_DIR=$here/config
export ARTCLI_REMOTE=$here/remote
unset ARTCLI_RUN_ID ARTCLI_PROJECT
rm -rf "$here" && mkdir -p "$here/in/raw" "$here/in/clean" "$here/in/model" "$here/in/eval"
cd "$here"
python3 - <<'PY'
import random
rng = random.Random(21)
with open("in/raw/reviews.csv", "w") as fh:
    fh.write("id,stars,text\n" + "".join(f"{i},{rng.randint(1, 5)},review {i}\n" for i in range(400)))
with open("in/model/model.safetensors", "wb") as fh:
    fh.write(rng.randbytes(3_000_000))
PY
run() { artcli run start --job-type "$1" ${2:+--name "$2"}; }

export ARTCLI_RUN_ID=$(run ingest "nightly export")
artcli log reviews-raw in/raw --type dataset --alias production -d "Product reviews, nightly export" \
  -m rows=400 -m source:uri=https://example.org/exports/reviews.csv -m format=csv
artcli run finish --status succeeded

export ARTCLI_RUN_ID=$(run clean)
artcli download reviews-raw:production --root work/raw > /dev/null
grep -v ',1,' work/raw/reviews.csv > in/clean/reviews.csv
artcli log reviews-clean in/clean --type dataset --input reviews-raw:production -d "One-star spam removed" \
  -m schema.columns='["id","stars","text"]' -m schema.stars:dtype=np.int8 -m rows=$(($(wc -l < in/clean/reviews.csv) - 1))
artcli run finish --status succeeded

export ARTCLI_RUN_ID=$(run train "sentiment, lr sweep best")
artcli download reviews-clean --root work/clean > /dev/null
artcli log sentiment in/model --type model --input reviews-clean:latest --alias candidate --ttl 90d \
  -d "DistilBERT fine-tuned on clean reviews" -m weights:size=2.86MiB -m weights_dtype:dtype=torch.bfloat16 \
  -m model_metrics.accuracy=0.912 -m model_metrics.f1=0.897 -m model_metrics.loss=0.231 \
  -m hyper.lr=3e-5 -m hyper.epochs=4 -m hyper.batch=32 -m checkpoint:path=/mnt/ckpt/sentiment/step-4000
artcli run finish --status succeeded

export ARTCLI_RUN_ID=$(run evaluate)
artcli download sentiment:candidate --root work/model > /dev/null
echo '{"accuracy": 0.912, "f1": 0.897}' > in/eval/metrics.json
artcli log sentiment-eval in/eval --type evaluation --input sentiment:candidate --ttl 30d --metadata-file in/eval/metrics.json
artcli run finish --status succeeded
unset ARTCLI_RUN_ID

artcli link sentiment:candidate registry/models/sentiment --alias staging
echo "$(date) more reviews" >> in/raw/reviews.csv
artcli log reviews-raw in/raw -m rows=401 > /dev/null
artcli alias add reviews-raw:v1 production > /dev/null
artcli site --out site
