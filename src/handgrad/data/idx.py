"""The IDX file format of MNIST and Fashion-MNIST, gzipped or raw.

    bytes 0-1   zero
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                              0x0D float32, 0x0E float64
    byte  3     number of dimensions k
    then        k big-endian uint32 sizes, then the data, big-endian, row-major

The reader checks each of these and the total size, and says what is wrong.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | Path) -> bytes:
    """The file's content, decompressed if it is gzipped (judged by its first bytes, not by
    its name)."""
    path = Path(path)
    raw = path.read_bytes()
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:
        raise ValueError(f"{path}: broken gzip data ({e}); "
                         "the file is truncated or corrupt") from None


def parse_idx(content: bytes, name: str = "IDX data") -> np.ndarray:
    """A NumPy array from the bytes of an IDX file."""
    if len(content) < 4:
        raise ValueError(f"{name}: {len(content)} bytes is too short for an IDX header")
    if content[0] != 0 or content[1] != 0:
        raise ValueError(f"{name}: bad magic number 0x{content[:4].hex()}; an IDX file starts "
                         "with two zero bytes, a type code and the number of dimensions")
    code, ndim = content[2], content[3]
    if code not in IDX_TYPES:
        raise ValueError(f"{name}: unknown element type 0x{code:02x}; expected one of "
                         + ", ".join(f"0x{c:02x}" for c in IDX_TYPES))
    if ndim == 0:
        raise ValueError(f"{name}: the header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(content) < header:
        raise ValueError(f"{name}: truncated header ({len(content)} bytes, need {header} for "
                         f"{ndim} dimensions)")
    shape = tuple(int(d) for d in np.frombuffer(content, ">u4", ndim, 4))
    dtype = np.dtype(IDX_TYPES[code])
    expected = int(np.prod(shape)) * dtype.itemsize
    found = len(content) - header
    if found != expected:
        what = "truncated" if found < expected else "too long"
        raise ValueError(f"{name}: {what}: shape {shape} of {dtype.name} needs {expected:,} bytes "
                         f"of data, found {found:,}")
    data = np.frombuffer(content, dtype, offset=header).reshape(shape)   # big-endian, read-only
    return data.astype(dtype.newbyteorder("="))                          # native byte order, a copy


def read_idx(path: str | Path, md5: str | None = None) -> np.ndarray:
    """Read an IDX file (gzipped or raw); with ``md5``, check the digest of the uncompressed
    content."""
    content = read_bytes(path)
    if md5 is not None:
        digest = hashlib.md5(content).hexdigest()
        if digest != md5:
            raise ValueError(f"{path}: content MD5 is {digest}, expected {md5}; the file is "
                             "corrupt or not the published version")
    return parse_idx(content, str(path))


def write_idx(path: str | Path, array: ArrayLike) -> None:
    """Write an array as an IDX file (gzipped if the name ends in .gz)."""
    array = np.asarray(array)
    code = {np.dtype(v).newbyteorder("="): k for k, v in IDX_TYPES.items()}[array.dtype]
    content = (bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
               + array.astype(IDX_TYPES[code]).tobytes())
    Path(path).write_bytes(gzip.compress(content) if str(path).endswith(".gz") else content)
