#!/usr/bin/env python3
"""Run a command; print 'WALL_SECONDS MAXRSS_KB USER_SECONDS SYS_SECONDS'.

The peak RSS is the largest of the command's waited-for descendants
(getrusage RUSAGE_CHILDREN), which for runner is the runner process
itself: its sandboxes are its children's children, reaped by bwrap.
That holds while the tasks are small: bwrap waits for its child, so a
task's own peak reaches bwrap's and then runner's RUSAGE_CHILDREN, and
a task bigger than runner (an agent CLI of 200+ MB) is what shows.

measure.py --self-hwm CMD...: a fifth field, the peak RSS of CMD's own
process alone (VmHWM in /proc/PID/status, read every 10 ms until it
exits; what grows in its last 10 ms is missed).
"""
import resource
import subprocess
import sys
import time


def hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


args = sys.argv[1:]
self_hwm = bool(args) and args[0] == "--self-hwm"
if self_hwm:
    args = args[1:]
t0 = time.monotonic()
p = subprocess.Popen(args, stdout=subprocess.DEVNULL)
peak = 0
if self_hwm:
    while p.poll() is None:
        # VmHWM only grows; a zombie's status has none (0).
        peak = max(peak, hwm_kb(p.pid))
        time.sleep(0.01)
rc = p.wait()
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
extra = f" {peak}" if self_hwm else ""
print(f"{wall:.3f} {ru.ru_maxrss} {ru.ru_utime:.3f} {ru.ru_stime:.3f}{extra}")
sys.exit(rc)
