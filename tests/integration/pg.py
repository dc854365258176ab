"""A private PostgreSQL 15 for the tests (scripts/cluster.py does the work):
its own data directory under tests/gen, a Unix socket and a free port, run as
the `postgres` user when the tests run as root."""
import sys

from harness import GEN, TOP

sys.path.insert(0, str(TOP / "scripts"))
import cluster  # noqa: E402


class Postgres(cluster.Postgres):
    def __init__(self, name="pg"):
        super().__init__(GEN / name)

    @property
    def conninfo(self):
        return self.dsn()
