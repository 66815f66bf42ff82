"""Durations for people, and the one ETA formula every progress display uses."""

from __future__ import annotations

ETA_WINDOW = 5  # epochs: recent ones predict the next better than the first (tracing, caches)


def format_duration(seconds: float) -> str:
    """``75`` -> ``1:15``; ``3725`` -> ``1:02:05``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def eta_seconds(durations: list[float], remaining: int) -> float:
    """Seconds left for ``remaining`` more units (epochs, study members) at the recent pace."""
    recent = durations[-ETA_WINDOW:]
    return sum(recent) / len(recent) * remaining if recent else 0.0
