#!/usr/bin/env python3
"""Runs a command and writes how long it took and what it used.

    bench/rusage.py OUT COMMAND [ARG ...]

Writes one line "WALL USER SYS MAXRSS_KIB" to OUT: wall seconds from just
before the fork to the reap, and the user and system seconds and peak
resident set of the command and the children it waited for (wait4), all
with microsecond resolution.  GNU time prints CPU seconds to two decimals,
which quantizes runs of a few tens of milliseconds; timing here also
leaves out this interpreter's own start-up.  Exits with the command's
status (128 + N when a signal N ended it).
"""
import os
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: rusage.py OUT COMMAND [ARG ...]")
    out, argv = sys.argv[1], sys.argv[2:]
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    with open(out, "w") as f:
        f.write("%.6f %.6f %.6f %d\n" % (wall, usage.ru_utime, usage.ru_stime,
                                       usage.ru_maxrss))
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    main()
