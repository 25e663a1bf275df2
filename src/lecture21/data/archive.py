"""One reader for the members of the tar archives the data sets ship in (CIFAR-10's JPEG copy,
FSDD's recordings): every regular file whose name matches, decoded, or one clear error."""

from __future__ import annotations

import lzma
import re
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from lecture21.data.images import DataError

T = TypeVar("T")

__all__ = ["read_members"]


def read_members(
    path: str | Path, pattern: re.Pattern[str], decode: Callable[[re.Match[str], bytes, str], T],
    what: str,
) -> list[T]:
    """``decode(match, data, member_name)`` for every file of the tar archive at ``path`` whose
    name matches ``pattern``, in archive order. A corrupt or truncated archive, or a member that
    cannot be decoded (``OSError``: PIL's and ``wave``'s errors), raises one :class:`DataError`
    naming the archive as a ``what`` archive; a ``DataError`` of ``decode`` passes unchanged."""
    decoded = []
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                match = pattern.match(member.name)
                if member.isfile() and match:
                    decoded.append(decode(match, tar.extractfile(member).read(), member.name))
    except (tarfile.TarError, lzma.LZMAError, zlib.error, EOFError, OSError) as error:
        raise DataError(f"{path} is not a readable {what} archive (corrupt or truncated): "
                        f"{error}") from error
    return decoded
