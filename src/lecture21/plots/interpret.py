"""Figures of the interpret part (being written)."""

__all__: list[str] = []
