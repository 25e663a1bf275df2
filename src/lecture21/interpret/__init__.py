"""Interpretation methods of the lecture: one file per method family."""
