#!/usr/bin/env python3
"""Wall time and peak memory of `breakwater stackwalk --json` against Breakpad's
minidump_stackwalk, over every dump of the shared corpus, each run from a cold process, the two
tools alternating in one run so they see the same machine load.

Usage:
  bench/stackwalk/stackwalk_bench.py --breakwater build/release/cli/breakwater \
      --breakpad /tmp/package/bin/linux-x64/minidump_stackwalk [--runs 5] [--testdata ../shared/testdata]

The Breakpad binary comes from the npm package minidump@0.26.0 (`npm pack minidump@0.26.0`,
then `tar xzf`; it is never committed). Prints a Markdown table (medians over the runs) that
docs/benchmarks.md records.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time


DEVNULL = os.open(os.devnull, os.O_WRONLY)
RSS_FILE = os.path.join(tempfile.gettempdir(), f"stackwalk-bench-{os.getpid()}.rss")


def spawn(cmd):
    """Runs cmd with output discarded; returns (seconds, exit status)."""
    actions = [(os.POSIX_SPAWN_DUP2, DEVNULL, 1), (os.POSIX_SPAWN_DUP2, DEVNULL, 2)]
    start = time.perf_counter()
    pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=actions)
    _, status, _ = os.wait4(pid, 0)
    return time.perf_counter() - start, os.waitstatus_to_exitcode(status)


def run_once(cmd):
    """Returns (seconds, peak RSS in MiB, exit status) of one cold run of cmd.

    The time is of the command alone, spawned directly. The peak RSS comes from a second run
    under GNU time (/usr/bin/time -f %M), whose small process is what the measured one is forked
    from (a child forked from this Python process would report Python's memory as its own peak);
    that wrapper's own fork and exec (about 1.5 ms here) would otherwise be in both tools' times
    and flatten the ratio of the small dumps towards 1."""
    elapsed, code = spawn(cmd)
    _, wrapped_code = spawn(["/usr/bin/time", "-f", "%M", "-o", RSS_FILE] + cmd)
    with open(RSS_FILE) as f:
        kib = int(f.read().split()[-1])
    return elapsed, kib / 1024.0, code if code != 0 else wrapped_code


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--breakwater", required=True)
    ap.add_argument("--breakpad", required=True)
    ap.add_argument("--testdata", default=os.path.join(os.path.dirname(__file__), "../../../shared/testdata"))
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    dumps_dir = os.path.join(args.testdata, "minidumps")
    symbols = os.path.join(args.testdata, "symbols")
    names = sorted(n[:-4] for n in os.listdir(dumps_dir)
                   if n.endswith(".dmp") and not n.startswith("invalid-"))
    rows = []
    for name in names:
        dump = os.path.join(dumps_dir, name + ".dmp")
        ours_cmd = [args.breakwater, "stackwalk", "--json", dump, symbols]
        theirs_cmd = [args.breakpad, dump, symbols]
        ours, theirs = [], []
        for _ in range(args.runs):
            ours.append(run_once(ours_cmd))
            theirs.append(run_once(theirs_cmd))
        bad = [r[2] for r in ours if r[2] != 0]
        if bad:
            print(f"{name}: breakwater exited {bad[0]}", file=sys.stderr)
        o_t = statistics.median(r[0] for r in ours) * 1000
        t_t = statistics.median(r[0] for r in theirs) * 1000
        o_m = statistics.median(r[1] for r in ours)
        t_m = statistics.median(r[1] for r in theirs)
        rows.append((name, o_t, t_t, o_m, t_m))

    print(f"| dump | breakwater ms | Breakpad ms | time ratio | breakwater MiB | Breakpad MiB |")
    print(f"|---|---:|---:|---:|---:|---:|")
    for name, o_t, t_t, o_m, t_m in rows:
        print(f"| {name} | {o_t:.1f} | {t_t:.1f} | {o_t / t_t:.2f} | {o_m:.1f} | {t_m:.1f} |")
    tot_o = sum(r[1] for r in rows)
    tot_t = sum(r[2] for r in rows)
    worst = max(rows, key=lambda r: r[1] / r[2])
    print(f"| **all {len(rows)} dumps** | {tot_o:.1f} | {tot_t:.1f} | {tot_o / tot_t:.2f} | | |")
    os.unlink(RSS_FILE)
    print(f"\nworst ratio: {worst[0]} {worst[1] / worst[2]:.2f}; "
          f"dumps at or under 0.5x: {sum(1 for r in rows if r[1] <= 0.5 * r[2])} of {len(rows)}")


if __name__ == "__main__":
    main()
