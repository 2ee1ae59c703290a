"""Database fixtures for tests: a SQLite file and a real PostgreSQL server, behind one parametrised fixture.

A pytest plugin (``tests/conftest.py`` loads it), so every test module can ask for these fixtures:

- ``db_url``: a URL of an empty database, parametrised over ``sqlite`` (a file under tmp_path) and
  ``postgres`` (a fresh ``CREATE DATABASE`` per test). Run :func:`storage.sql.schema.migrate` on it first.
- ``database``: the same, as a :class:`Database` with ``stop()``/``start()`` (PostgreSQL: the server
  really goes away) and ``dump()`` (PostgreSQL: ``pg_dump`` text; SQLite: the raw file bytes plus a
  SQL dump) for privacy tests.
- ``pg_database``: PostgreSQL only, for tests that make no sense on SQLite.

PostgreSQL comes from ``TEST_DATABASE_URL`` when set (a server where that role may create
databases; ``stop``/``start`` then skip). Otherwise one throwaway server is started per test session
(with pytest-xdist: per worker, so a test that stops its server stops no other worker's tests)
from the OS binaries (``initdb``/``pg_ctl`` on PATH or in ``/usr/lib/postgresql/*/bin``), in a temp
dir, on 127.0.0.1 and a free port, as the unprivileged ``postgres`` user when the tests run as root
(PostgreSQL refuses to run as root). When no server can be started, every PostgreSQL test is skipped
with the reason shown in the ``-ra`` summary; under CI (``CI`` set, as ``.ci/run`` has it) it fails
instead, so that a green CI run always includes PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import URL, make_url

from storage.sql.engine import database_url
from testkit.helpers import free_port

_SERVER_KEY = pytest.StashKey["PgServer | str"]()
_SUPERUSER = "postgres"
_START_TIMEOUT_SECONDS = 30


def _find_bindir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb and (Path(initdb).resolve().parent / "pg_ctl").exists():
        return Path(initdb).resolve().parent
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


class PgServer:
    """A PostgreSQL server for tests: either started here from the OS binaries, or an external one."""

    def __init__(self, *, admin: URL, bindir: Path | None = None, root: Path | None = None) -> None:
        self.admin = admin
        self.bindir = bindir
        self.root = root
        self.running = True

    # -- starting a local server -----------------------------------------------------------------
    @classmethod
    def launch(cls) -> PgServer:
        """Initialise and start a throwaway server; raise RuntimeError saying why if that fails."""
        bindir = _find_bindir()
        if bindir is None:
            raise RuntimeError(
                "no PostgreSQL server binaries (initdb/pg_ctl) found; run scripts/ensure-postgres.sh "
                "as root or set TEST_DATABASE_URL"
            )
        owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(
                    "running as root and there is no 'postgres' user to run PostgreSQL as"
                ) from None
        root = Path(tempfile.mkdtemp(prefix="cse-triage-pg-"))
        if owner is not None:
            os.chown(root, owner.pw_uid, owner.pw_gid)
        admin = URL.create(
            "postgresql+psycopg", username=_SUPERUSER, host="127.0.0.1", port=free_port(), database="postgres"
        )
        server = cls(admin=admin, bindir=bindir, root=root)
        server.running = False
        try:
            server._run_as_owner(
                "initdb", "-D", str(root / "data"), "-U", _SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync"
            )
            for attempt in range(3):
                try:
                    server.start()
                    break
                except RuntimeError:
                    if attempt == 2:
                        raise
                    # The free port was taken before the server bound it (another test worker): again.
                    server.admin = server.admin.set(port=free_port())
        except RuntimeError:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return server

    def _command(self, program: str, *args: str) -> list[str]:
        assert self.bindir is not None
        argv = [str(self.bindir / program), *args]
        if os.geteuid() != 0:
            return argv
        if shutil.which("runuser"):
            return ["runuser", "-u", "postgres", "--", *argv]
        return ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(argv)]

    def _run_as_owner(self, program: str, *args: str) -> str:
        done = subprocess.run(
            self._command(program, *args), capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {(done.stderr or done.stdout)[-800:]}")
        return done.stdout

    # -- control ---------------------------------------------------------------------------------
    @property
    def local(self) -> bool:
        """Whether this server was started here (and so can be stopped and started)."""
        return self.root is not None

    def start(self) -> None:
        """Start the local server and wait until it accepts connections."""
        if self.root is None:
            pytest.skip("cannot start an external PostgreSQL server (TEST_DATABASE_URL)")
        options = f"-h 127.0.0.1 -p {self.admin.port} -k {self.root} -F -c max_connections=60"
        try:
            self._run_as_owner(
                "pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "server.log"),
                "-w", "-t", str(_START_TIMEOUT_SECONDS), "-o", options, "start",
            )  # fmt: skip
        except RuntimeError as err:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
            raise RuntimeError(f"{err}\n{tail}") from None
        self.running = True

    def stop(self) -> None:
        """Stop the local server at once (fast shutdown: open connections are cut)."""
        if self.root is None:
            pytest.skip("cannot stop an external PostgreSQL server (TEST_DATABASE_URL)")
        self._run_as_owner("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        self.running = False

    def close(self) -> None:
        """Stop the local server and remove its files (external servers are left alone)."""
        if self.root is None:
            return
        if self.running:
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases -------------------------------------------------------------------------------
    def _admin_connect(self) -> psycopg.Connection[tuple[object, ...]]:
        a = self.admin
        return psycopg.connect(
            host=a.host, port=a.port, user=a.username, password=a.password, dbname=a.database, autocommit=True
        )

    def url(self, name: str) -> str:
        """The URL of database ``name`` on this server."""
        return self.admin.set(database=name).render_as_string(hide_password=False)

    def create_database(self) -> str:
        """Create an empty database with a fresh name and return the name."""
        name = f"cse_test_{uuid.uuid4().hex[:12]}"
        with self._admin_connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return name

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, cutting any connection still open to it."""
        with self._admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())

    def dump(self, name: str) -> str:
        """The whole database as SQL text (``pg_dump``, run as the server's user when local)."""
        a = self.admin
        if self.root is not None:
            return self._run_as_owner(
                "pg_dump", "-h", str(self.root), "-p", str(a.port), "-U", _SUPERUSER, name
            )
        env = dict(os.environ, PGPASSWORD=a.password or "")
        args = ["pg_dump", "-h", str(a.host), "-p", str(a.port or 5432), "-U", str(a.username), name]
        return subprocess.run(args, capture_output=True, text=True, env=env, timeout=60, check=True).stdout


def _server(request: pytest.FixtureRequest) -> PgServer:
    """The session's PostgreSQL server, started on first use, or skip this test saying why not."""
    stash = request.config.stash
    if _SERVER_KEY not in stash:
        external = os.environ.get("TEST_DATABASE_URL")
        try:
            if external:
                stash[_SERVER_KEY] = PgServer(admin=database_url(external))
            else:
                server = PgServer.launch()
                stash[_SERVER_KEY] = server
                request.config.add_cleanup(server.close)
        except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as err:
            stash[_SERVER_KEY] = f"PostgreSQL tests skipped: {err}"
    found = stash[_SERVER_KEY]
    if isinstance(found, str):
        if os.environ.get("CI"):
            pytest.fail(f"{found} (CI runs every PostgreSQL test; scripts/ensure-postgres.sh installs it)")
        pytest.skip(found)
    return found


@dataclass
class Database:
    """An empty test database: its URL, and (PostgreSQL) the server it lives on."""

    backend: str
    url: str
    server: PgServer | None = None
    name: str = ""

    def stop(self) -> None:
        """Make the database unreachable (PostgreSQL: stop the server)."""
        if self.server is None:
            raise RuntimeError("stop() is for PostgreSQL; on SQLite use away()")
        self.server.stop()

    def start(self) -> None:
        """Bring the database back."""
        if self.server is None:
            raise RuntimeError("start() is for PostgreSQL")
        self.server.start()

    @property
    def impatient_url(self) -> str:
        """The URL for a store that gives up quickly while the database is :meth:`away` (SQLite:
        a 0.2 s busy timeout instead of 5 s; PostgreSQL refuses connections at once anyway)."""
        return f"{self.url}?timeout=0.2" if self.server is None else self.url

    @contextlib.contextmanager
    def away(self) -> Iterator[None]:
        """The database unavailable for the duration: PostgreSQL stopped; SQLite write-locked by
        another connection (to the store, a database it cannot use)."""
        if self.server is not None:
            self.stop()
            try:
                yield
            finally:
                self.start()
            return
        lock = sqlite3.connect(str(make_url(self.url).database), isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            lock.execute("ROLLBACK")
            lock.close()

    def dump(self) -> str:
        """Everything the database holds, as text to search: pg_dump, or the SQLite files' raw bytes."""
        if self.server is not None:
            return self.server.dump(self.name)
        path = Path(str(make_url(self.url).database))
        raw = [p.read_bytes().decode("latin-1") for p in (path, Path(f"{path}-wal")) if p.exists()]
        with contextlib.closing(sqlite3.connect(path)) as conn:
            raw.append("\n".join(conn.iterdump()))
        return "\n".join(raw)


def _provide(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> Iterator[Database]:
    if backend == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path / 'data' / 'cse-triage.sqlite3'}")
        return
    server = _server(request)
    name = server.create_database()
    try:
        yield Database("postgres", server.url(name), server, name)
    finally:
        if server.local and not server.running:
            server.start()
        server.drop_database(name)


_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=_BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database on each backend (see the module docstring)."""
    yield from _provide(request, tmp_path, str(request.param))


@pytest.fixture(params=_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database on each backend."""
    for db in _provide(request, tmp_path, str(request.param)):
        yield db.url


@pytest.fixture
def pg_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty PostgreSQL database (skipped with the reason when no server can be started)."""
    yield from _provide(request, tmp_path, "postgres")
