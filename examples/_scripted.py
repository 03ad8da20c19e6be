"""A scripted stand-in for Daily's network, so the example bots run offline.

The script is a replay log (see the README's "Replay"): ``event`` lines are
delivered to the bot's real ``daily.EventHandler`` from a separate thread, as
daily-python's engine does; a ``call`` line waits until the bot has made that
call; a ``completion`` line answers the oldest such call, on that thread too.
Only this class replaces the ``daily.CallClient``'s network side; the bot
code is what it would be against a real room.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

Completion = Callable[..., None]


class ScriptedClient:
    """Has ``daily.CallClient``'s five telephony methods; plays a script on an "engine" thread."""

    def __init__(self, script: Path, timeout: float = 5.0) -> None:
        self.lines = [json.loads(line) for line in script.read_text(encoding="utf-8").splitlines() if line.strip()]
        self.timeout = timeout
        self.made: list[tuple[str, object]] = []
        self._pending: dict[str, list[Completion]] = {}
        self._changed = threading.Condition()
        self.failure: str | None = None

    def _call(self, name: str, argument: object, completion: Completion | None) -> None:
        with self._changed:
            self.made.append((name, argument))
            self._pending.setdefault(name, []).append(completion or (lambda *args: None))
            self._changed.notify_all()

    def start_dialout(self, settings: object, completion: Completion | None = None) -> None:
        """Like ``CallClient.start_dialout``: the script supplies the completion."""
        self._call("start_dialout", settings, completion)

    def stop_dialout(self, participant_id: object, completion: Completion | None = None) -> None:
        """Like ``CallClient.stop_dialout``."""
        self._call("stop_dialout", participant_id, completion)

    def send_dtmf(self, settings: object, completion: Completion | None = None) -> None:
        """Like ``CallClient.send_dtmf``."""
        self._call("send_dtmf", settings, completion)

    def sip_call_transfer(self, settings: object, completion: Completion | None = None) -> None:
        """Like ``CallClient.sip_call_transfer``."""
        self._call("sip_call_transfer", settings, completion)

    def sip_refer(self, settings: object, completion: Completion | None = None) -> None:
        """Like ``CallClient.sip_refer``."""
        self._call("sip_refer", settings, completion)

    def play(self, handler: Any) -> threading.Thread:
        """Start the engine thread that plays the script into ``handler``."""
        thread = threading.Thread(target=self._play, args=(handler,), name="scripted-engine", daemon=True)
        thread.start()
        return thread

    def _play(self, handler: Any) -> None:
        made = 0
        for line in self.lines:
            if "event" in line:
                getattr(handler, line["event"])(line["data"])
            elif "call" in line:
                with self._changed:
                    if not self._changed.wait_for(_more_than(self.made, made), self.timeout):
                        self.failure = f"the bot never made the scripted call {line['call']}"
                        return
                    if self.made[made][0] != line["call"]:
                        self.failure = f"expected {line['call']}, the bot made {self.made[made][0]}"
                        return
                    made += 1
            else:
                name = line["completion"]
                with self._changed:
                    completion = self._pending[name].pop(0)
                if name == "start_dialout":
                    completion(line.get("session_id"), line.get("error"))
                else:
                    completion(line.get("error"))


def _more_than(made: list[tuple[str, object]], count: int) -> Callable[[], bool]:
    return lambda: len(made) > count
