#!/usr/bin/python3
"""Generate the .npy fixtures of tests/c/io.c with NumPy (run once by hand;
the tests never run Python).  Usage: /usr/bin/python3 make_fixtures.py

Every array holds values the C test recomputes from the flat C-order index
k of each element, so loads are checked bit for bit:
  float kinds    (k - 5) * 0.25
  signed ints    k - 5          (int8 also: the value at k = 11 is -128)
  unsigned ints  k              (the value at k = 11 is the type's maximum)
  bool           k % 2
"""
import os
import struct

import numpy as np
from numpy.lib import format as npf

HERE = os.path.dirname(os.path.abspath(__file__))


def values(kind, size, n):
    k = np.arange(n)
    if kind == "f":
        return (k - 5) * 0.25
    if kind == "i":
        v = k - 5
        if n > 11:
            v[11] = -(2 ** (8 * size - 1))
        return v
    if kind == "u":
        v = k.astype(np.uint64)
        if n > 11:
            v[11] = 2 ** (8 * size) - 1
        return v
    return k % 2


def save(name, arr, version=None):
    with open(os.path.join(HERE, name), "wb") as f:
        npf.write_array(f, arr, version=version, allow_pickle=False)


# every dtype, both byte orders, shape (3, 4), C order, format 1.0
for kind, sizes in (("f", (2, 4, 8)), ("i", (1, 2, 4, 8)), ("u", (1, 2, 4, 8)), ("b", (1,))):
    for size in sizes:
        orders = "<>" if size > 1 else "|"
        for order in orders:
            dt = np.dtype(f"{order}{kind}{size}")
            arr = values(kind, size, 12).astype(dt).reshape(3, 4)
            tag = {"<": "le", ">": "be", "|": "na"}[order]
            save(f"{kind}{size}_{tag}.npy", arr)

base = values("f", 8, 24).astype("<f8")
save("fortran_2d.npy", np.asfortranarray(base[:12].reshape(3, 4)))
save("fortran_3d.npy", np.asfortranarray(base.reshape(2, 3, 4)))
save("c_3d.npy", base.reshape(2, 3, 4))
save("fortran_be_i4.npy", np.asfortranarray(values("i", 4, 12).astype(">i4").reshape(3, 4)))
save("v2.npy", base[:12].reshape(3, 4), version=(2, 0))
save("v3.npy", base[:12].reshape(3, 4), version=(3, 0))
save("vec.npy", base[:5])
save("scalar.npy", np.array(7.5))
save("empty_0x3.npy", np.zeros((0, 3)))

# np.save's own bytes for known arrays: otlab's writer must reproduce them
np.save(os.path.join(HERE, "golden_mat.npy"), np.arange(12.0).reshape(3, 4) * 0.5 - 1.25)
np.save(os.path.join(HERE, "golden_vec.npy"), np.array([0.1, -2.5, 1e300, 5e-324, -0.0]))

# np.save headers for many shapes (digits of the first dimension move the
# padding): records of u64 rows, u64 cols (2^64-1: a 1-d array), u32
# length, then the header bytes.
with open(os.path.join(HERE, "npy_headers.bin"), "wb") as f:
    rows_list = [0, 1, 7] + [10 ** d - 1 for d in range(2, 20)] + [10 ** d for d in range(2, 20)]
    rows_list.append(2 ** 64 - 1)
    for rows in rows_list:
        for cols in (None, 3, 123456789):
            shape = (rows,) if cols is None else (rows, cols)
            import io
            b = io.BytesIO()
            npf._write_array_header(b, {"descr": "<f8", "fortran_order": False,
                                        "shape": shape}, (1, 0))
            h = b.getvalue()
            f.write(struct.pack("<QQI", rows, 2 ** 64 - 1 if cols is None else cols, len(h)))
            f.write(h)
