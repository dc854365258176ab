"""Where a benchmark phase's time goes, per request (not a test).

Around one wrk run against an apache2 started by the harness:
- perf stat on the children: fsync/fdatasync system calls (tracepoints) and
  CPU time (task-clock);
- the module's own write counters, logged by each child when it exits
  (LogLevel afiliate:info, "write stats:" in mod_afiliate_dbd.c): commits,
  transaction bodies, statements, time waiting for the write lock, in the
  queue, running bodies and committing;
- access_log's %D: the server's time per request.
"""
import re
import signal
import subprocess

LOGLEVEL = "LogLevel warn afiliate:info"
EVENTS = "syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync,task-clock"
STATS = re.compile(r"write stats: (.*)")


def children(srv):
    out = subprocess.run(["pgrep", "-P", str(srv.pid())], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


class Probe:
    """perf stat attached to the server's children while a run goes on."""

    def __init__(self, srv):
        self.srv = srv
        self.pids = children(srv)
        self.log_start = len(srv.read_log())
        self.access_start = self._access_lines()
        try:
            self.perf = subprocess.Popen(["perf", "stat", "-x,", "-e", EVENTS, "-p",
                                          ",".join(map(str, self.pids))],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         text=True)
        except OSError:
            self.perf = None  # no perf: those columns read 0

    def _access_lines(self):
        try:
            return len((self.srv.root / "access_log").read_text().splitlines())
        except OSError:
            return 0

    def finish(self, requests, earlier=0):
        """Stops perf, restarts the server (its children log their counters) and
        gives the figures per request as a dict. earlier: requests the children
        served before the probe started (their counters cover them too)."""
        err = ""
        if self.perf:
            self.perf.send_signal(signal.SIGINT)
            _, err = self.perf.communicate(timeout=30)
        counts = {}
        for line in err.splitlines():
            f = line.split(",")
            if len(f) > 2 and f[0].replace(".", "").isdigit():
                counts[f[2]] = float(f[0])
        lines = (self.srv.root / "access_log").read_text().splitlines()[self.access_start:]
        server_us = [int(x.rsplit(" ", 1)[1]) for x in lines if x.rsplit(" ", 1)[1].isdigit()]
        self.srv.restart()
        stats = {}
        for m in STATS.finditer(self.srv.read_log()[self.log_start:]):
            for kv in m.group(1).split():
                k, v = kv.split("=")
                stats[k] = stats.get(k, 0) + int(v) if k != "max_batch" else \
                    max(stats.get(k, 0), int(v))
        n = max(requests, 1)
        nc = max(requests + earlier, 1)  # for the children's own counters
        fsyncs = counts.get("syscalls:sys_enter_fsync", 0) + \
            counts.get("syscalls:sys_enter_fdatasync", 0)
        commits = stats.get("commits", 0)
        return {
            "requests": requests,
            "commits": commits / nc,
            "bodies": stats.get("bodies", 0) / nc,
            "batch": stats.get("bodies", 0) / commits if commits else 0,
            "max_batch": stats.get("max_batch", 0),
            "statements": stats.get("statements", 0) / nc,
            "pages": stats.get("pages_written", 0) / max(commits, 1),
            "fsyncs": fsyncs / n,
            "cpu_ms": counts.get("task-clock", 0) / n,
            "server_ms": sum(server_us) / len(server_us) / 1000 if server_us else 0,
            # Each queued body waits for a leader; a leader's times are per commit.
            "queue_ms": stats.get("queue_us", 0) / 1000 / nc,
            "lock_ms": (stats.get("lock_wait_us", 0) + stats.get("begin_us", 0)) / 1000 /
            max(commits, 1),
            "bodies_ms": stats.get("bodies_us", 0) / 1000 / max(commits, 1),
            "commit_ms": stats.get("commit_us", 0) / 1000 / max(commits, 1),
        }


def line(label, b):
    return (f"  {label}: per request {b['commits']:.2f} commits ({b['bodies']:.2f} "
            f"transaction bodies; batch {b['batch']:.1f} avg, {b['max_batch']} max), "
            f"{b['statements']:.1f} statements, {b['fsyncs']:.2f} fsyncs, CPU "
            f"{b['cpu_ms']:.2f} ms, server time {b['server_ms']:.1f} ms of which "
            f"{b['queue_ms']:.2f} ms queued for a leader; per commit: {b['pages']:.0f} WAL "
            f"pages, write lock wait "
            f"{b['lock_ms']:.2f} ms, bodies {b['bodies_ms']:.2f} ms, COMMIT "
            f"{b['commit_ms']:.2f} ms")
