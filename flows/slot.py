"""A slot of a Prefect global concurrency limit that a killed holder gives up within a minute.

Prefect's ``concurrency()`` holds a slot with a lease that the server frees once it
expires: 300 s by default, never less than 60 s (the server refuses shorter leases),
then up to 15 s until its repossessor looks (PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS),
then up to 30 s more until a waiting run tries again. A holder killed with SIGKILL
blocked the next run for up to six minutes, and would still for up to 105 s with the
shortest lease.

So a holder here also says on the server that it lives: a Prefect variable tagged with
the limit's name, named after its lease, rewritten every BEAT_SECONDS (the server stamps
each write with its own clock, so clocks of other machines do not matter). A run that
waits for a slot reads these variables between tries. A holder silent for
DEAD_AFTER_SECONDS is taken for dead: the waiter deletes its variable (one waiter wins
the delete) and releases its lease, which is what the holder would have done. The lease
stays the backstop when nobody waits.

A live holder that lost its slot (its server unreachable for that long, its process
frozen) finds out at its next renewal, and ``keep()`` then waits for a slot again before
it goes on: at most one batch of windows runs beyond the limit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from email.utils import parsedate_to_datetime
from uuid import UUID

import httpx
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import VariableCreate, VariableUpdate
from prefect.exceptions import ObjectNotFound

# The shortest lease a Prefect server grants (it answers 422 below 60 s). It only matters
# when no run waits: then the server frees a dead holder's slot 60-75 s after its last beat.
LEASE_SECONDS = 60
BEAT_SECONDS = 5  # how often a holder renews its lease and rewrites its variable
# Six missed beats: a whisper run on a busy CPU still beats every few seconds (the beats
# run in their own thread, and torch lets go of the GIL while it computes), so a holder
# this silent is dead or cut off. Killed, its slot is free 25-35 s later for a waiting run.
DEAD_AFTER_SECONDS = 30
POLL_SECONDS = 10  # the longest a waiting run sleeps between tries (the server may ask for 30 s)

log = logging.getLogger(__name__)


class Slot:
    """One slot of the global concurrency limit ``limit``, from ``acquire()`` to ``release()``."""

    def __init__(self, limit: str) -> None:
        self.limit = limit
        self.lease_id: UUID | None = None  # None: nothing held (no such limit, or released)
        self._stop = threading.Event()
        self._lost: str = ""  # why the slot was lost, set by the beat thread
        self._beats: threading.Thread | None = None

    def acquire(self) -> None:
        """Wait until a slot is free, freeing the slots of dead holders meanwhile. Without
        the limit (the embedded API, before `draftcast setup`) this holds nothing. Once
        held, a thread renews the lease every BEAT_SECONDS.

        Raises:
            httpx.HTTPStatusError: the server refused for another reason than a full limit
                (423); Prefect's client errors pass through too.
        """
        started, waited = time.monotonic(), False
        with get_client(sync_client=True) as client:
            while True:
                try:
                    granted = client.increment_concurrency_slots_with_lease(
                        [self.limit], 1, "concurrency", LEASE_SECONDS
                    ).json()
                    break
                except httpx.HTTPStatusError as exc:
                    if exc.response.status_code != 423:  # 423 Locked: every slot is taken
                        raise
                    waited = True
                    wait = float(exc.response.headers.get("Retry-After", POLL_SECONDS))
                    time.sleep(min(wait, POLL_SECONDS, _free_dead_holders(client, self.limit)))
            if not granted["limits"]:
                return
            lease_id = UUID(granted["lease_id"])
            try:
                client.create_variable(VariableCreate(name=_variable(self.limit, lease_id), value=0, tags=[self.limit]))
            except BaseException:
                client.release_concurrency_slots_with_lease(lease_id)
                raise
        self.lease_id, self._lost = lease_id, ""
        self._stop.clear()
        self._beats = threading.Thread(target=self._beat, args=(lease_id,), daemon=True, name=f"slot-{lease_id}")
        self._beats.start()
        after = f" after waiting {time.monotonic() - started:.0f} s" if waited else ""
        _logger().info("holding a slot of %r%s", self.limit, after)

    def keep(self) -> None:
        """Go on holding the slot: if the server freed it meanwhile, wait for one again
        (call it between units of work).

        Raises:
            As ``acquire``.
        """
        if self.lease_id is not None and self._lost:
            _logger().warning("lost the slot of %r (%s): waiting for one again", self.limit, self._lost)
            self.release()
            self.acquire()

    def release(self) -> None:
        """Give the slot back at once and stop beating. Never raises: a server that cannot
        be reached is logged, and frees the slot when its lease ends."""
        if self.lease_id is None:
            return
        lease_id, self.lease_id = self.lease_id, None
        self._stop.set()
        if self._beats is not None:
            self._beats.join(timeout=2)  # a beat stuck on a slow server gives up by itself
        try:
            with get_client(sync_client=True) as client:
                client.release_concurrency_slots_with_lease(lease_id)  # no-op if the server freed it
                client.delete_variable_by_name(_variable(self.limit, lease_id))
        except ObjectNotFound:
            pass
        except Exception as exc:  # the work is done and saved: do not fail it for this
            _logger().warning("could not give back the slot of %r (%s): the server frees it in 75 s", self.limit, exc)

    def _beat(self, lease_id: UUID) -> None:
        """Renew the lease and rewrite the variable every BEAT_SECONDS until stopped or lost."""
        name = _variable(self.limit, lease_id)
        renewed = time.monotonic()
        beats = 0
        with get_client(sync_client=True) as client:
            while not self._stop.wait(BEAT_SECONDS):
                beats += 1
                try:
                    client.renew_concurrency_lease(lease_id, LEASE_SECONDS)
                    renewed = time.monotonic()
                    client.update_variable(VariableUpdate(name=name, value=beats))
                except httpx.HTTPStatusError as exc:
                    if exc.response.status_code in (404, 410):  # freed: expired, or taken for dead
                        self._lost = f"the server freed it: HTTP {exc.response.status_code}"
                        return
                    log.warning("renewing the slot of %r failed: %s", self.limit, exc)
                except Exception as exc:  # the server unreachable: the lease may still hold
                    log.warning("renewing the slot of %r failed: %s", self.limit, exc)
                if time.monotonic() - renewed > LEASE_SECONDS:
                    self._lost = f"not renewed for {LEASE_SECONDS} s"
                    return


@contextmanager
def hold(limit: str) -> Iterator[Slot]:
    """A slot of ``limit`` for the ``with`` block, given back when it ends, whatever happens.

    Raises:
        As ``Slot.acquire``, on entering.
    """
    slot = Slot(limit)
    slot.acquire()
    try:
        yield slot
    finally:
        slot.release()


def _variable(limit: str, lease_id: UUID) -> str:
    return f"{limit}-{lease_id}"


def _free_dead_holders(client: SyncPrefectClient, limit: str) -> float:
    """Release the slots of ``limit``'s holders that stopped beating; returns the seconds
    until the next live holder could be taken for dead (0 after freeing one: try now)."""
    response = client.request(
        "POST", "/variables/filter", json={"variables": {"tags": {"all_": [limit]}}, "limit": 200}
    )
    now = parsedate_to_datetime(response.headers["date"])  # the server's clock, a second or so behind
    until_next = float(POLL_SECONDS)
    for variable in response.json():
        silent = (now - datetime.fromisoformat(variable["updated"])).total_seconds()
        if silent < DEAD_AFTER_SECONDS:
            until_next = min(until_next, DEAD_AFTER_SECONDS - silent + 1)
            continue
        try:
            client.delete_variable_by_name(variable["name"])  # whoever deletes it frees the slot
        except ObjectNotFound:
            continue
        client.release_concurrency_slots_with_lease(UUID(variable["name"].removeprefix(f"{limit}-")))
        _logger().warning("freed a slot of %r whose holder was silent for %.0f s (killed?)", limit, silent)
        until_next = 0.0
    return until_next


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The run's logger inside a flow or task run (shown in Prefect's UI), else this module's."""
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return log
