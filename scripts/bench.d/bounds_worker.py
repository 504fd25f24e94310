"""bounds_worker.py -- the POT side of `scripts/bench bounds` (benchmark only).

Called by scripts/bench.d/bounds.lua once per row with key=value arguments:

    python3 bounds_worker.py op=diag x=X.npy y=Y.npy m=100 repeats=3

It reads the .npy files otlab wrote and computes the same mini-batch bound
the way a POT user would: ordered batches (batch a = rows a m .. a m + m - 1),
the m x m squared-Euclidean cost of each pair with ot.dist, its exact OT with
ot.emd2 (uniform weights), then
  op=diag  the mean of the k diagonal D_aa (mini-batch averaging),
  op=opt   all k^2 D_ab, and the optimal coupling of the batches: ot.emd2 on
           the k x k matrix of D_ab with uniform weights (a permutation by
           Birkhoff), the value (1/k) min_sigma sum_a D_a,sigma(a).
Best wall time of `repeats` runs after one warm-up; prints one line

    @result time=<seconds> obj=<value>

or `@missing <what>` when numpy or POT cannot be imported, `@error <message>`.
`op=env` prints the versions.  Nothing in the build or the tests runs this.
"""
import sys
import time


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main():
    p = {}
    for a in sys.argv[1:]:
        k, sep, v = a.partition("=")
        if not sep:
            raise SystemExit("bounds_worker: argument %r is not key=value" % a)
        p[k] = v
    try:
        import numpy as np
        import ot
    except ImportError as e:
        say("@missing %s" % e)
        return
    if p.get("op") == "env":
        say("@env numpy %s, POT %s" % (np.__version__, ot.__version__))
        return
    X = np.load(p["x"])
    Y = np.load(p["y"])
    m = int(p["m"])
    n = X.shape[0]
    k = n // m
    w = np.full(m, 1.0 / m)

    def D(a, b):
        C = ot.dist(X[a * m:(a + 1) * m], Y[b * m:(b + 1) * m])
        return ot.emd2(w, w, C)

    def diag():
        return sum(D(a, a) for a in range(k)) / k

    def opt():
        M = np.empty((k, k))
        for a in range(k):
            for b in range(k):
                M[a, b] = D(a, b)
        u = np.full(k, 1.0 / k)
        return ot.emd2(u, u, M)

    f = {"diag": diag, "opt": opt}[p["op"]]
    repeats = int(p.get("repeats", "3"))
    f()  # warm-up
    best, val = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        v = f()
        dt = time.perf_counter() - t
        if dt < best:
            best, val = dt, v
        if dt > 4:
            break
    say("@result time=%.9g obj=%.17g" % (best, val))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # reported, not raised: the driver prints it
        say("@error %s" % e)
