#!/usr/bin/env python3
"""bench/rss-tree.py ROOT_PID OUT [INTERVAL]: the memory of a process tree.

Every INTERVAL seconds (default 0.1) until ROOT_PID is gone: the
descendants of ROOT_PID (from /proc/*/stat), leaving out ROOT_PID itself
and any process named "time" or "timeout" (the measuring wrappers). Writes
one line to OUT:

    MAX_SUM_RSS_KIB SUM_HWM_KIB PROCESSES SAMPLES

MAX_SUM_RSS_KIB: the largest sum of VmRSS over the processes alive at one
sample (the tree's total resident memory, sampled: a peak shorter than the
interval can be missed). SUM_HWM_KIB: the sum over every process seen of
the last VmHWM read (its own peak RSS), an upper bound for the tree's
simultaneous peak as long as every process lives through a sample; useful
for a pipeline of long-lived processes, meaningless for many short ones.
"""
import os
import sys
import time


def table():
    """{pid: (ppid, comm, starttime)} for every process."""
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        r = s.rfind(")")
        comm = s[s.find("(") + 1:r]
        rest = s[r + 2:].split()
        procs[int(d)] = (int(rest[1]), comm, rest[19])
    return procs


def status(pid):
    rss = hwm = 0
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def main():
    root, out = int(sys.argv[1]), sys.argv[2]
    interval = float(sys.argv[3]) if len(sys.argv) > 3 else 0.1
    max_sum, hwm, samples = 0, {}, 0
    while os.path.exists("/proc/%d" % root):
        procs = table()
        children = {}
        for pid, (ppid, _, _) in procs.items():
            children.setdefault(ppid, []).append(pid)
        todo, total = list(children.get(root, [])), 0
        while todo:
            pid = todo.pop()
            todo.extend(children.get(pid, []))
            _, comm, start = procs[pid]
            if comm in ("time", "timeout"):
                continue
            rss, h = status(pid)
            total += rss
            if h:
                hwm[(pid, start)] = max(h, hwm.get((pid, start), 0))
        max_sum = max(max_sum, total)
        samples += 1
        time.sleep(interval)
    with open(out, "w") as f:
        f.write("%d %d %d %d\n" % (max_sum, sum(hwm.values()), len(hwm), samples))


if __name__ == "__main__":
    main()
