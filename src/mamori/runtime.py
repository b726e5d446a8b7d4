"""Everything one server process holds: settings, store, journal, clock, scheduler, identities
and the provider registry. Built once by ``mamori serve`` and by tests."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from mamori.clock import Clock
from mamori.config import SettingError, Settings
from mamori.iam.credentials import AccessKeyInUse, CredentialDirectory
from mamori.iam.identity_policies import IdentityPolicies
from mamori.journal import Journal, JournalBase, ProcessJournal
from mamori.journal.journal import describe_error
from mamori.scheduler import Scheduler
from mamori.services.registry import Registry
from mamori.store import Store
from mamori.store.engine import SchemaVersionError
from mamori.store.resources import Resources
from mamori.store.seal import MasterKeyError, load_master_key

log = logging.getLogger(__name__)

# The mamori_settings key of the domain clock's offset from the wall clock (microseconds).
CLOCK_OFFSET_SETTING = "clock_offset_microseconds"


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        data_dir = Path(settings.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.clock = Clock()
        self.scheduler = Scheduler(self.clock)
        try:
            master_key = load_master_key(data_dir, settings.master_key)
        except MasterKeyError as exc:
            raise SettingError(str(exc)) from None
        self.store = _open_store(settings, data_dir, master_key)
        self.resources = Resources(self.store)
        self._restore_clock()
        self.journal: JournalBase
        if settings.journal_writer == "process":
            # group commit in a writer process, off the serving process's core and GIL
            self.journal = ProcessJournal(
                self.store, master_key=master_key, cpus=settings.writer_cpus
            )
        else:
            self.journal = Journal(self.store)
        self.credentials = CredentialDirectory(self.store)
        # Where ctx.authorize finds a principal's identity policies and boundary.
        self.identity_policies = IdentityPolicies(self)
        self.registry = Registry(self)
        self.root_credentials = self.seed()

    def seed(self) -> tuple[str, str]:
        """Create (or load) the default account and its root credentials."""
        try:
            return self.credentials.ensure_account(
                self.settings.account_id,
                now=self.clock.now(),
                root_access_key_id=self.settings.root_access_key_id,
                root_secret_access_key=self.settings.root_secret_access_key,
                name="default",
            )
        except AccessKeyInUse as exc:
            raise SettingError(f"MAMORI_ROOT_ACCESS_KEY_ID: {exc}") from None

    # The domain clock's offset is saved, so that domain time does not run backwards across a
    # restart (credentials issued before it would live longer, events get earlier times).

    def advance_clock(self, seconds: float) -> None:
        """Move the domain clock forward (ValueError for a move that cannot be made), from
        the latest move any node sharing the store made."""
        self.follow_clock()
        previous = self.clock.offset
        self.clock.advance(seconds)
        self._save_clock(previous)

    def set_clock(self, when: datetime) -> None:
        """Move the domain clock forward to ``when`` (ValueError as for ``advance_clock``)."""
        self.follow_clock()
        previous = self.clock.offset
        self.clock.set(when)
        self._save_clock(previous)

    def _save_clock(self, previous: timedelta) -> None:
        try:
            with self.store.begin() as conn:
                self.store.set_setting(conn, CLOCK_OFFSET_SETTING, str(_microseconds(self.clock)))
        except BaseException:
            self.clock.restore(previous)  # a move that is not saved is not made
            raise

    def _restore_clock(self, forward_only: bool = False) -> None:
        with self.store.connect() as conn:
            saved = self.store.get_setting(conn, CLOCK_OFFSET_SETTING)
        if saved is None:
            return
        try:
            offset = timedelta(microseconds=int(saved))
        except (ValueError, OverflowError):
            log.warning("ignoring an unreadable saved clock offset: %r", saved)
            return
        if forward_only and offset <= self.clock.offset:
            return
        self.clock.restore(offset)

    def follow_clock(self) -> None:
        """Take up a move of the clock another node sharing the store made (the clock only
        moves forward)."""
        self._restore_clock(forward_only=True)

    def start(self) -> None:
        self.journal.start()
        if self.store.dialect == "postgresql":  # other nodes may share it: follow their moves
            self.scheduler.every(
                "clock: follow other nodes' moves",
                timedelta(seconds=1),
                lambda now: self.follow_clock(),
            )
        self.scheduler.every(
            "iam: record access key last use",
            timedelta(seconds=60),
            lambda now: self.credentials.flush_usage(),
        )

    def reset(self) -> None:
        """Wipe all state (``/_mamori/reset``) and seed the default account again."""
        self.journal.flush()
        self.store.reset()
        self.registry.after_reset()
        self.credentials.invalidate()
        self.clock.reset()
        self.root_credentials = self.seed()

    def close(self) -> None:
        try:
            try:
                self.credentials.flush_usage()
            except Exception:
                log.exception("could not record access keys' last use")
            self.journal.close()
        finally:
            self.store.close()


def _microseconds(clock: Clock) -> int:
    return clock.offset // timedelta(microseconds=1)


def _open_store(settings: Settings, data_dir: Path, master_key: bytes) -> Store:
    """The store, or a SettingError naming what could not be opened (never the URL itself:
    it may hold a password)."""
    what = "MAMORI_DATABASE_URL" if settings.database_url else f"the database in {data_dir}"
    try:
        return Store(data_dir, settings.database_url, master_key=master_key)
    except sa.exc.ArgumentError:  # its message would repeat the URL
        raise SettingError(f"{what}: not a database URL mamori can use") from None
    except (sa.exc.OperationalError, ImportError, ValueError, SchemaVersionError) as exc:
        reason = " ".join(describe_error(exc).split())  # one line
        raise SettingError(f"{what}: cannot open the database: {reason}") from None
