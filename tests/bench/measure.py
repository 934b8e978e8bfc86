#!/usr/bin/env python3
"""Run a command; print 'WALL_SECONDS MAXRSS_KB USER_SECONDS SYS_SECONDS'.

The peak RSS is the largest of the command's waited-for descendants
(getrusage RUSAGE_CHILDREN), which for runner is the runner process
itself: its sandboxes are its children's children, reaped by bwrap.
"""
import resource
import subprocess
import sys
import time

t0 = time.monotonic()
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{wall:.3f} {ru.ru_maxrss} {ru.ru_utime:.3f} {ru.ru_stime:.3f}")
sys.exit(rc)
