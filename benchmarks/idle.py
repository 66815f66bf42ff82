"""Where a running training (or any process) sits idle: its CPU use sampled every second, and
each stretch of seconds it used almost none, with the stack it waited in (py-spy, when installed).

    python -m benchmarks idle --pid PID [--seconds 600] [--min-idle 4] [--dumps 3]

Made to find the stalls between epochs (docs/history.md, "Stalls between epochs"):
run it beside a study or a training and compare the stretches before and after a change.
Reads /proc (Linux).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time

IDLE_SHARE = 0.05  # of one core: less than this in a second counts as idle


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stack(pid: int) -> str:
    """The process's threads' stacks, Python and native, or why there are none."""
    if not shutil.which("py-spy"):
        return "(py-spy is not installed: pip install py-spy)"
    done = subprocess.run(["py-spy", "dump", "--native", "--pid", str(pid)], capture_output=True, text=True,
                          timeout=60)
    return done.stdout or done.stderr


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks idle", description=__doc__.splitlines()[0])
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--seconds", type=int, default=600, help="how long to watch")
    parser.add_argument("--min-idle", type=int, default=4, help="shortest idle stretch reported, seconds")
    parser.add_argument("--dumps", type=int, default=3, help="stacks taken, one per stretch, at most")
    args = parser.parse_args(argv)
    print(f"watching process {args.pid} for {args.seconds} s; idle stretches of {args.min_idle} s or more:",
          flush=True)
    before, idle, stretches, dumps = cpu_seconds(args.pid), 0, [], 0
    for _ in range(args.seconds):
        time.sleep(1)
        try:
            now = cpu_seconds(args.pid)
        except FileNotFoundError:
            print("the process ended")
            break
        used, before = now - before, now
        if used < IDLE_SHARE:
            idle += 1
            if idle == args.min_idle and dumps < args.dumps:
                dumps += 1
                print(f"{time.strftime('%H:%M:%S')} idle for {idle} s so far; its stack:\n{stack(args.pid)}", flush=True)
        elif idle:
            if idle >= args.min_idle:
                stretches.append(idle)
                print(f"{time.strftime('%H:%M:%S')} idle stretch of {idle} s", flush=True)
            idle = 0
    print(f"{len(stretches)} idle stretches of {args.min_idle} s or more in {args.seconds} s, "
          f"{sum(stretches)} s in all: {stretches}")
