#!/usr/bin/python3
"""make_seeds.py -- writes the hand-made seeds of tests/fuzz/corpus/.

Run with Debian's /usr/bin/python3 (standard library only) from anywhere:
  /usr/bin/python3 tests/fuzz/make_seeds.py
It (re)writes files named seed-*; inputs that libFuzzer adds with
scripts/fuzz --merge have hash names and are left alone.  The .npy fixtures
of tests/data/io/ are copied in as npy-fixture-* seeds.
"""
import gzip
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
FIXTURES = os.path.join(HERE, "..", "data", "io")


def put(target, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(CORPUS, target, "seed-" + name), "wb") as f:
        f.write(data)


def gz(data):
    return gzip.compress(data, mtime=0)


# ---- npy -------------------------------------------------------------------

def npy(descr, shape, payload, fortran=False, version=(1, 0), pad=True, header=None):
    if header is None:
        shp = "(" + "".join("%d," % s for s in shape) + ")" if len(shape) != 1 else "(%d,)" % shape[0]
        if len(shape) > 1:
            shp = "(" + ", ".join(str(s) for s in shape) + ")"
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
            descr, "True" if fortran else "False", shp)
    h = header.encode("latin-1")
    pre = 10 if version[0] == 1 else 12
    if pad:
        total = pre + len(h) + 1
        h += b" " * ((64 - total % 64) % 64) + b"\n"
    lenfield = struct.pack("<H", len(h)) if version[0] == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes(version) + lenfield + h + payload


def f8(*v):
    return struct.pack("<%dd" % len(v), *v)


def npy_seeds():
    t = "npy"
    for name in sorted(os.listdir(FIXTURES)):
        if name.endswith(".npy"):
            shutil.copy(os.path.join(FIXTURES, name), os.path.join(CORPUS, t, "npy-fixture-" + name))
    good = npy("<f8", (2, 3), f8(1, 2, 3, 4, 5, 6))
    put(t, "f8-2x3", good)
    put(t, "f8-2x3.gz", gz(good))
    put(t, "f8-vec", npy("<f8", (4,), f8(1, -0.0, 1e308, 5e-324)))
    put(t, "f8-nan-inf", npy("<f8", (3,), f8(float("nan"), float("inf"), float("-inf"))))
    put(t, "f8-labels-last", npy("<f8", (3, 3), f8(1, 2, 0, 3, 4, 1, 5, 6, 2)))
    put(t, "f8-scalar", npy("<f8", (), f8(7)))
    put(t, "f8-0x3", npy("<f8", (0, 3), b""))
    put(t, "f8-3x0", npy("<f8", (3, 0), b""))
    put(t, "f8-4d", npy("<f8", (1, 2, 1, 2), f8(1, 2, 3, 4)))
    put(t, "f8-fortran", npy("<f8", (2, 3), f8(1, 4, 2, 5, 3, 6), fortran=True))
    put(t, "f8-be", npy(">f8", (2,), struct.pack(">2d", 1.5, -2.5)))
    put(t, "f4", npy("<f4", (2,), struct.pack("<2f", 1.5, -2.5)))
    put(t, "f2", npy("<f2", (3,), struct.pack("<3H", 0x3C00, 0x7C00, 0x0001)))
    put(t, "i8-be", npy(">i8", (2,), struct.pack(">2q", -(2 ** 63), 2 ** 63 - 1)))
    put(t, "u8", npy("<u8", (1,), struct.pack("<Q", 2 ** 64 - 1)))
    put(t, "b1", npy("|b1", (3,), b"\x00\x01\x02"))
    put(t, "u1", npy("|u1", (2, 2), b"\x00\x7f\x80\xff"))
    put(t, "v2", npy("<f8", (1,), f8(1), version=(2, 0)))
    put(t, "v3-utf8", npy("<f8", (1,), f8(1), version=(3, 0)))
    put(t, "v4", npy("<f8", (1,), f8(1), version=(4, 0)))
    put(t, "bad-magic", b"\x93NUMPX" + good[6:])
    put(t, "short", good[:9])
    put(t, "header-longer-than-file", good[:8] + struct.pack("<H", 60000) + good[10:80])
    put(t, "truncated", good[:-5])
    put(t, "trailing", good + b"\x00\x01")
    put(t, "shape-lies", npy("<f8", (1000, 1000), f8(1, 2)))
    put(t, "dims-overflow", npy("<f8", (2 ** 40, 2 ** 40), b""))
    put(t, "dims-overflow-zero", npy("<f8", (0, 2 ** 62, 2 ** 62), b""))
    put(t, "huge-claim", npy("|u1", (2 ** 32, 2 ** 20), b""))
    put(t, "33-dims", npy("<f8", (1,) * 33, f8(1)))
    put(t, "complex", npy("<c16", (1,), b"\x00" * 16))
    put(t, "unicode", npy("<U3", (1,), b"\x00" * 12))
    put(t, "object", npy("|O", (1,), b"\x00" * 8))
    put(t, "structured", npy("[('a', '<f8')]", (1,), f8(1),
                             header="{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }"))
    put(t, "header-unterminated", npy("", (), b"", header="{'descr': '<f8', 'fortran_order': False, 'sha"))
    put(t, "header-keys-shuffled", npy("", (), f8(2, 3), header="{'shape': (2,), 'fortran_order': False, 'descr': '<f8'}"))
    put(t, "header-missing-key", npy("", (), f8(2), header="{'descr': '<f8', 'shape': (1,)}"))
    put(t, "header-extra-key", npy("", (), f8(2), header="{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}"))
    put(t, "header-neg-dim", npy("", (), b"", header="{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }"))
    put(t, "header-big-dim", npy("", (), b"", header="{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }"))
    put(t, "header-nopad", npy("<f8", (1,), f8(1), pad=False))
    put(t, "nan-labels", npy("<f8", (2, 2), f8(1, float("nan"), 2, 0)))


# ---- csv -------------------------------------------------------------------

def csv_seeds():
    t = "csv"
    put(t, "plain", "1,2,3\n4,5,6\n")
    put(t, "plain.gz", gz(b"1,2,3\n4,5,6\n"))
    put(t, "header", "x,y,label\n0.5,1e-3,0\n-2,3.25,1\n")
    put(t, "text-labels", "a,b,species\n1,2,setosa\n3,4,virginica\n5,6,setosa\n")
    put(t, "quoted", '"a","b ""q"""\n"1", 2\n')
    put(t, "crlf", "1,2\r\n3,4\r\n")
    put(t, "bom", b"\xef\xbb\xbf1,2\n3,4\n")
    put(t, "utf16-bom", b"\xff\xfe1\x00,\x002\x00\n\x00")
    put(t, "empty-lines", "\n1,2\n\n  \n3,4\n\n")
    put(t, "no-final-newline", "1,2\n3,4")
    put(t, "decimal-comma", "1,5;2,5\n3,0;4,0\n")
    put(t, "semicolon", "1;2\n3;4\n")
    put(t, "tabs", "1\t2\n3\t4\n")
    put(t, "spaces", "  1   2 \n 3 4\n")
    put(t, "nan-inf", "nan,inf\n-Infinity,NaN\n")
    put(t, "erange", "1e400,2\n1e-400,3\n")
    put(t, "ragged", "1,2,3\n4,5\n")
    put(t, "non-numeric", "1,2\n3,abc\n")
    put(t, "hexfloat", "0x1p3,2\n")
    put(t, "signs", "+1,-2\n.5,5.\n1e+2,1E-2\n")
    put(t, "empty-field", "1,,3\n")
    put(t, "only-header", "a,b,c\n")
    put(t, "empty", "")
    put(t, "blank-only", " \n\r\n\t\n")
    put(t, "long-line", "1," * 2000 + "1\n")
    put(t, "one-column", "1\n2\n3\n")
    put(t, "unterminated-quote", '"1,2\n3,4\n')
    put(t, "quote-across-line", '"1\n2",3\n')
    put(t, "nul-bytes", b"1,\x002\n3,4\n")
    put(t, "label-nan", "1,2,nan\n3,4,1\n")
    put(t, "label-empty", "a,b,c\n1,2,\n3,4,x\n")
    put(t, "many-classes", "".join("%d,c%d\n" % (i, i % 37) for i in range(200)))


# ---- idx -------------------------------------------------------------------

def idx(code, dims, payload, ndim=None):
    return bytes([0, 0, code, len(dims) if ndim is None else ndim]) + \
        b"".join(struct.pack(">I", d) for d in dims) + payload


def idx_seeds():
    t = "idx"
    images = idx(0x08, (3, 2, 2), bytes(range(12)))
    labels = idx(0x08, (3,), b"\x00\x01\x09")
    put(t, "u8-images", images)
    put(t, "u8-images.gz", gz(images))
    put(t, "u8-labels", labels)
    put(t, "u8-labels.gz", gz(labels))
    put(t, "i8", idx(0x09, (2,), b"\x80\x7f"))
    put(t, "i16", idx(0x0B, (2,), struct.pack(">2h", -32768, 32767)))
    put(t, "i32", idx(0x0C, (1, 2), struct.pack(">2i", -(2 ** 31), 2 ** 31 - 1)))
    put(t, "f32", idx(0x0D, (2,), struct.pack(">2f", 1.5, float("nan"))))
    put(t, "f64", idx(0x0E, (2, 2), struct.pack(">4d", 1, 2, float("inf"), 4)))
    put(t, "f64-4d", idx(0x0E, (1, 1, 2, 1), struct.pack(">2d", 1, 2)))
    put(t, "zero-items", idx(0x08, (0, 28, 28), b""))
    put(t, "zero-cols", idx(0x08, (5, 0), b""))
    put(t, "bad-magic", b"\x01" + images[1:])
    put(t, "unknown-type", idx(0x0A, (1,), b"\x00"))
    put(t, "ndim-0", idx(0x08, (), b"", ndim=0))
    put(t, "ndim-5", idx(0x08, (1, 1, 1, 1, 1), b"\x00"))
    put(t, "header-short", images[:10])
    put(t, "truncated", images[:-1])
    put(t, "trailing", images + b"\x00")
    put(t, "dims-lie", idx(0x08, (60000, 28, 28), bytes(16)))
    put(t, "dims-overflow", idx(0x0E, (2 ** 32 - 1,) * 4, b""))
    put(t, "short", b"\x00\x00")
    z = gz(images)
    put(t, "gz-truncated", z[:-10])
    put(t, "gz-trailing-garbage", z + b"junk")
    put(t, "gz-two-members", gz(images[:7]) + gz(images[7:]))
    put(t, "gz-isize-lies", z[:-4] + struct.pack("<I", 2 ** 32 - 1))
    put(t, "gz-corrupt", z[:12] + bytes(b ^ 0x5A for b in z[12:20]) + z[20:])
    put(t, "gz-zeros-256k", gz(idx(0x08, (256, 1024), bytes(256 * 1024))))
    put(t, "gz-header-only", z[:10])


if __name__ == "__main__":
    for target in ("npy", "csv", "idx"):
        os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
        for name in os.listdir(os.path.join(CORPUS, target)):
            if name.startswith("seed-") or name.startswith("npy-fixture-"):
                os.remove(os.path.join(CORPUS, target, name))
    npy_seeds()
    csv_seeds()
    idx_seeds()
