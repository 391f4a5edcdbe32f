"""A stand-in for the provider's SnsNotifier that records what it was asked to send."""

from __future__ import annotations

from typing import Any

import pytest


class RecordingNotifier:
    """Records the kwargs of every notifier that sent; `sends_with` names the one method it
    has, so code calling the other (sync in a coroutine, async in a task) fails."""

    sent: list[dict[str, Any]]

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    def _record(self) -> None:
        type(self).sent.append(self.kwargs)


class _SyncNotifier(RecordingNotifier):
    def notify(self, context: Any) -> None:
        self._record()


class _AsyncNotifier(RecordingNotifier):
    async def async_notify(self, context: Any) -> None:
        self._record()


def record_sns_notifications(
    monkeypatch: pytest.MonkeyPatch, *, sends_with: str
) -> type[RecordingNotifier]:
    """Replace SnsNotifier with a recorder whose only sending method is `sends_with`."""
    from airflow.providers.amazon.aws.notifications import sns

    recorder = {"notify": _SyncNotifier, "async_notify": _AsyncNotifier}[sends_with]
    recorder.sent = []
    monkeypatch.setattr(sns, "SnsNotifier", recorder)
    return recorder
