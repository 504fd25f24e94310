#!/usr/bin/env bash
# tests/mpi/run.sh OTLAB: ot.mpi under mpirun with 1, 2 and 4 ranks, and the
# shard/reduce path, all give the output of the plain single-process run.
# Run by meson only when otlab was built with MPI and mpirun exists.
set -u
otlab=$1
here=$(cd "$(dirname "$0")" && pwd)
script=$here/check.lua
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check NAME FILE: compare with the serial output
  if cmp -s "$tmp/serial.out" "$2"; then
    echo "ok - $1"
  else
    echo "not ok - $1"
    diff "$tmp/serial.out" "$2" | head -20
    fail=1
  fi
}
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$otlab" -E --no-panel "$script" >"$tmp/serial.out" || { echo "not ok - serial run"; exit 1; }
grep -q '^done$' "$tmp/serial.out" || { echo "not ok - serial run incomplete"; exit 1; }
for np in 1 2 4; do
  if timeout 300 mpirun --allow-run-as-root --oversubscribe -np $np "$otlab" -E --no-panel "$script" \
      >"$tmp/np$np.out" 2>"$tmp/np$np.err"; then
    check "mpirun -np $np" "$tmp/np$np.out"
  else
    echo "not ok - mpirun -np $np failed"
    tail -20 "$tmp/np$np.err"
    fail=1
  fi
done
# shards 1..3 of 3, then the reduce step
for i in 1 2 3; do
  OTLAB_SHARD=$i/3 OTLAB_SHARD_DIR=$tmp/shards "$otlab" -E --no-panel "$script" >"$tmp/shard$i.out" 2>/dev/null ||
    { echo "not ok - shard $i/3"; fail=1; }
  [ -s "$tmp/shard$i.out" ] && { echo "not ok - shard $i/3 printed results"; fail=1; }
done
OTLAB_SHARD=reduce OTLAB_SHARD_DIR=$tmp/shards "$otlab" -E --no-panel "$script" >"$tmp/reduce.out" 2>&1
check "shards 1..3 of 3 + reduce" "$tmp/reduce.out"
exit $fail
