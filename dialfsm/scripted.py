"""A scripted Daily, to run a bot offline: the real SDK objects, with Daily's side of the room played from a script.

Testing a bot, or running the examples without a room: only the network is
replaced.  :class:`ScriptedDaily` plays a *script* (a replay log's lines, or
a path to one) from an "engine" thread, as daily-python's engine does:

* ``{"event": "on_dialout_answered", "data": {...}}``: the event, delivered
  to the SDK's event handler (``"args": [...]`` adds arguments, such as
  ``on_participant_left``'s reason);
* ``{"call": "start_dialout"}``: wait until the bot has made that call (at
  most ``timeout`` seconds; otherwise the script fails);
* ``{"completion": "start_dialout", "session_id": "...", "error": null}``:
  the oldest such call completes (``{"completion": "send_dtmf", "error": ...}``);
* ``{"sleep": 0.5}``: Daily says nothing for that long (a phone ringing).

Lines with only ``"t"`` are skipped.  The script starts when the bot joins the
room and stops when it leaves.  Plug it in where the network would be:

* pipecat: ``ScriptedDaily(script).attach(transport)`` replaces the
  ``daily.CallClient`` inside a real ``DailyTransport`` by a scripted one
  (the transport's own ``join`` / ``leave``, event queue and handlers all run);
* daily-python: ``client = ScriptedDaily(script).wrap(daily.CallClient(event_handler=handler), handler)``.

The scripted client answers ``join``, ``leave`` and the five telephony calls
(recording them in :attr:`ScriptedDaily.made`) and passes everything else to
the real ``CallClient`` it wraps.  :attr:`ScriptedDaily.failure` says why a
script could not be played (the bot made another call, or none).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

__all__ = ["LOCAL_PARTICIPANT", "ScriptedCallClient", "ScriptedDaily"]

#: The bot's own participant id in a scripted room.
LOCAL_PARTICIPANT: Final = "00000000-0000-4000-8000-00000000b07a"

Completion = Callable[..., None]


def _read(script: Iterable[Mapping[str, Any]] | str | Path) -> list[dict[str, Any]]:
    if isinstance(script, (str, Path)):
        text = Path(script).read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return [dict(line) for line in script]


class ScriptedDaily:
    """Daily's side of one room, played from a script (see the module docstring).

    Args:
        script: The lines, or the path of a JSON-lines file of them.
        timeout: Seconds a ``call`` line waits for the bot's call.

    Raises:
        OSError: the script file cannot be read.
        ValueError: a line is not JSON, or not an object.

    """

    def __init__(self, script: Iterable[Mapping[str, Any]] | str | Path, *, timeout: float = 5.0) -> None:
        self.lines = _read(script)
        for number, line in enumerate(self.lines, 1):
            if not isinstance(line, dict) or not ({"event", "call", "completion", "sleep", "t"} & set(line)):
                raise ValueError(f"script line {number} is no event, call, completion or sleep: {line!r}")
        self.timeout = timeout
        #: The telephony calls the bot made, in order: ``(name, argument)``.
        self.made: list[tuple[str, object]] = []
        #: Why the script stopped early, if it did.
        self.failure: str | None = None
        self.joined = threading.Event()
        self.left = threading.Event()
        self._pending: dict[str, list[Completion]] = {}
        self._changed = threading.Condition()
        self._engine: threading.Thread | None = None

    # --- plugging it in -----------------------------------------------------------------

    def wrap(self, client: Any, handler: Any) -> ScriptedCallClient:
        """A scripted stand-in for the ``daily.CallClient`` ``client``, delivering events to ``handler``."""
        return ScriptedCallClient(self, client, handler)

    def attach(self, transport: Any) -> Any:
        """Put the script in a pipecat ``DailyTransport`` (pipecat 1.14): its ``CallClient`` is wrapped.

        Returns the transport.  Its ``DailyTransportClient`` is the event handler,
        as daily-python's engine would call it.
        """
        transport_client = getattr(transport, "_client", None)
        call_client = getattr(transport_client, "_client", None)
        if call_client is None:
            raise TypeError(f"{type(transport).__name__} has no DailyTransportClient with a CallClient to script")
        # pipecat's private attribute, on purpose: this is where the network is.
        setattr(transport_client, "_client", self.wrap(call_client, transport_client))  # noqa: B010
        return transport

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the script has been played to its end (or stopped); whether it was."""
        engine = self._engine
        if engine is None:
            return False
        engine.join(timeout)
        return not engine.is_alive()

    # --- the engine thread ----------------------------------------------------------------

    def _start(self, handler: Any, on_joined: Completion | None) -> None:
        with self._changed:
            if self._engine is not None:
                raise RuntimeError("this scripted room was joined already")
            self._engine = threading.Thread(
                target=self._play, args=(handler, on_joined), name="scripted-daily", daemon=True
            )
        self._engine.start()

    def _play(self, handler: Any, on_joined: Completion | None) -> None:
        if on_joined is not None:
            on_joined(
                {"participants": {"local": {"id": LOCAL_PARTICIPANT}}, "meetingSession": {"id": "scripted"}}, None
            )
        self.joined.set()
        made = 0
        for number, line in enumerate(self.lines, 1):
            if self.left.is_set():
                self.failure = f"the bot left before script line {number}: {line!r}"
                return
            if "event" in line:
                getattr(handler, line["event"])(line.get("data"), *line.get("args", ()))
            elif "call" in line:
                if not self._await_call(line["call"], made, number):
                    return
                made += 1
            elif "completion" in line:
                self._complete(line, number)
            elif "sleep" in line:
                self.left.wait(float(line["sleep"]))

    def _await_call(self, name: str, made: int, number: int) -> bool:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.made) > made or self.left.is_set(), self.timeout):
                self.failure = f"script line {number}: the bot never made the call {name}"
                return False
            if len(self.made) <= made:
                self.failure = f"script line {number}: the bot left before it made the call {name}"
                return False
            if self.made[made][0] != name:
                self.failure = f"script line {number}: expected {name}, the bot made {self.made[made][0]}"
                return False
        return True

    def _complete(self, line: Mapping[str, Any], number: int) -> None:
        name = line["completion"]
        with self._changed:
            waiting = self._pending.get(name)
            completion = waiting.pop(0) if waiting else None
        if completion is None:
            self.failure = f"script line {number}: no {name} call is waiting for a completion"
            return
        if name == "start_dialout":
            completion(line.get("session_id"), line.get("error"))
        else:
            completion(line.get("error"))

    def _called(self, name: str, argument: object, completion: Completion | None) -> None:
        with self._changed:
            self.made.append((name, dict(argument) if isinstance(argument, Mapping) else argument))
            self._pending.setdefault(name, []).append(completion or (lambda *args: None))
            self._changed.notify_all()

    def _leave(self) -> None:
        with self._changed:
            self.left.set()
            self._changed.notify_all()


class ScriptedCallClient:
    """A ``daily.CallClient`` whose network side is a :class:`ScriptedDaily` (everything else: the real client)."""

    def __init__(self, daily: ScriptedDaily, client: Any, handler: Any) -> None:
        self._daily = daily
        self._real = client
        self._handler = handler

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def join(
        self,
        meeting_url: str,
        meeting_token: str | None = None,
        client_settings: object = None,
        completion: Completion | None = None,
    ) -> None:
        """Join the scripted room: the join completes, then the script plays."""
        self._daily._start(self._handler, completion)

    def leave(self, completion: Completion | None = None) -> None:
        """Leave: the script stops; the completion comes from another thread, as daily-python's does."""
        self._daily._leave()
        if completion is not None:
            threading.Thread(target=completion, args=(None,), name="scripted-daily-leave", daemon=True).start()

    def start_dialout(self, settings: object = None, completion: Completion | None = None) -> None:
        """Like ``CallClient.start_dialout``: the script supplies the completion ``(session_id, error)``."""
        self._daily._called("start_dialout", settings, completion)

    def stop_dialout(self, participant_id: object = None, completion: Completion | None = None) -> None:
        """Like ``CallClient.stop_dialout``: the script supplies the completion ``(error,)``."""
        self._daily._called("stop_dialout", participant_id, completion)

    def send_dtmf(self, settings: object, completion: Completion | None = None) -> None:
        """Like ``CallClient.send_dtmf``."""
        self._daily._called("send_dtmf", settings, completion)

    def sip_call_transfer(self, settings: object, completion: Completion | None = None) -> None:
        """Like ``CallClient.sip_call_transfer``."""
        self._daily._called("sip_call_transfer", settings, completion)

    def sip_refer(self, settings: object, completion: Completion | None = None) -> None:
        """Like ``CallClient.sip_refer``."""
        self._daily._called("sip_refer", settings, completion)
