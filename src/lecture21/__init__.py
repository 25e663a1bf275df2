"""Code for the course book of Lecture 21, "Сверточные нейронные сети" (МГТУ им. Н.Э. Баумана)."""

__version__ = "0.1.0"
