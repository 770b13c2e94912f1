"""Tiny measuring wrapper: ``python -S -E rusage_wrap.py RESULT_FILE CMD [ARG...]``.

Spawns CMD (searching PATH), reaps it with ``os.wait4`` and writes one line to
RESULT_FILE: ``wall_s user_s sys_s maxrss_kib exit_code``.  Exits with CMD's
exit code (128 + N when CMD died of signal N).

Why a separate process: on Linux a child's ``ru_maxrss`` is at least the RSS of
the process that forked it (exec folds the pre-exec memory map's high-water
mark into the child's counter), so spawning straight from the harness would
report the harness's own peak for every command.  This wrapper imports only
``os``/``sys``/``time`` and runs with ``-S -E``, so that floor is ~8 MiB, below
any real command.  Its own start-up is not in ``wall_s``.
"""

import os
import sys
import time


def main() -> int:
    result, argv = sys.argv[1], sys.argv[2:]
    t0 = time.perf_counter()
    try:
        pid = os.posix_spawnp(argv[0], argv, os.environ)
    except OSError as exc:
        sys.stderr.write(f"cannot run {argv[0]}: {exc}\n")
        with open(result, "w") as fh:
            fh.write(f"{time.perf_counter() - t0} 0 0 0 127\n")
        return 127
    while True:
        try:
            _, status, ru = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    code = 128 - code if code < 0 else code
    with open(result, "w") as fh:
        fh.write(f"{wall} {ru.ru_utime} {ru.ru_stime} {ru.ru_maxrss} {code}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
