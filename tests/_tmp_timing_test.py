import os, time
from pathlib import Path
from clihelp import Cli, make_tree
BIG = 1 << 20
def test_t(s3_cli: Cli, tmp_path: Path) -> None:
    cli = s3_cli
    v0 = make_tree(tmp_path / "v0", {"s.txt": b"s", "b.bin": os.urandom(BIG + 1), "only0.bin": os.urandom(BIG + 2)})
    for args in (("log", "ds", str(v0)), ("show", "ds"), ("delete", "ds"), ("gc", "--dry-run"), ("gc", "--grace", "0s"),
                 ("debug", "fsck", "--read-data"), ("ls",)):
        t = time.time(); cli(*args); print(args[0], round(time.time() - t, 2))
