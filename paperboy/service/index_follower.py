"""Keyword indexing beside a long ingest: a second process follows the store by `seq` while the ingest writes.

Storing holds one core; the keyword index of what is already committed is built on the other, so a big
snapshot is searchable about when storing ends instead of one index build later. Each round is an ordinary
incremental `Paperboy.update_index(embed=False)` (under the index lock, from the index's high-water mark),
so a round that fails or never runs loses nothing: the ingest's own catch-up afterwards indexes the rest.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
from multiprocessing.connection import wait
from typing import Any

from paperboy.config import Settings

NAME = "paperboy-keyword-indexer"
_DONE = None  # the last message: storing has ended, run the final round and exit


class IndexFollower:
    """A spawned process indexing (keywords only) every `every` papers the ingest reports as stored.

    `stored(n)` after each committed batch, then `finish()`: waits for the last round and returns
    None, or why the follower failed (it died, or a round raised).
    """

    def __init__(self, settings: Settings, every: int):
        ctx = mp.get_context("spawn")  # fork is unsafe from a threaded server process
        self._todo: Any = ctx.Queue()
        self._result, result = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_follow, args=(settings, every, self._todo, result), name=NAME, daemon=True)
        self._proc.start()
        result.close()  # the child's end: only the child holds it open now

    def stored(self, n: int) -> None:
        """`n` more papers are committed to the store (added or changed)."""
        if n and self._proc.is_alive():
            self._todo.put(n)

    def finish(self) -> str | None:
        """Storing has ended: wait for the follower's last round; None when it completed, else the error."""
        try:
            if self._proc.is_alive():
                self._todo.put(_DONE)
            wait([self._result, self._proc.sentinel])  # its answer, or its end without one
            if self._result.poll():
                return self._result.recv()
        except EOFError:  # its end closed without an answer
            pass
        finally:
            self.close()
        return f"the keyword indexer process died (exit code {self._proc.exitcode})"

    def close(self) -> None:
        """Stop the follower now (the ingest failed or was interrupted)."""
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join(timeout=5)


def _follow(settings: Settings, every: int, todo, result) -> None:
    from paperboy.service import IndexBusy, Paperboy

    pb = None
    try:
        pb = Paperboy(settings)
        pending, done = 0, False
        while not done:
            n = todo.get()  # blocks until the ingest commits more or ends
            while n is not _DONE:
                pending += n
                try:  # everything already queued counts towards this round
                    n = todo.get_nowait()
                except queue.Empty:
                    break
            done = n is _DONE
            if pending >= every or (done and pending):
                try:
                    pb.update_index(embed=False, wait=False)
                    pending = 0
                except IndexBusy:  # another updater (a worker) indexes these papers itself; the next round retries
                    pass
        result.send(None)
    except BaseException as e:  # reported by the ingest, which then indexes what is left itself
        result.send(f"{type(e).__name__}: {e}".rstrip(": "))
    finally:
        if pb is not None:
            pb.close()
