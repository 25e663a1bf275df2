"""``python -m lecture21.train MODEL [--epochs N] [--profile P] ...``: see :mod:`.cli`."""

from lecture21.train.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
