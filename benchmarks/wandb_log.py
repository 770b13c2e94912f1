"""W&B offline ``log_artifact`` of one directory (runs in benchmarks/.venv-peers).

    WANDB_MODE=offline WANDB_SILENT=true python benchmarks/wandb_log.py NAME DIR RUN_DIR

wandb.init(offline) -> Artifact(NAME, type="dataset").add_dir(DIR) ->
run.log_artifact -> run.finish().  System metrics, metadata probes, git and
console capture are switched off so that only the artifact work is measured.
Prints one JSON line with the in-process seconds.
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    name, path, run_dir = argv
    t0 = time.perf_counter()
    import wandb

    t_import = time.perf_counter() - t0
    settings = wandb.Settings(
        x_disable_stats=True,
        x_disable_meta=True,
        console="off",
        silent=True,
        disable_git=True,
        save_code=False,
    )
    run = wandb.init(project="artcli-bench", dir=run_dir, mode="offline", settings=settings)
    art = wandb.Artifact(name, type="dataset")
    art.add_dir(path)
    run.log_artifact(art)
    run.finish()
    print(json.dumps({"seconds": round(time.perf_counter() - t0, 4), "import_s": round(t_import, 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
