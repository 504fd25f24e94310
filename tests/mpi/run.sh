#!/usr/bin/env bash
# tests/mpi/run.sh OTLAB: ot.mpi (check.lua), the distributed mini-batch
# bounds (bounds.lua) and OTDD (otdd.lua) under mpirun with 1, 2 and 4
# ranks, and the shard/reduce path, all give the output of the plain
# single-process run; a stop on one rank stops them all (cancel.lua).
# Run by meson only when otlab was built with MPI and mpirun exists.
set -u
otlab=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check NAME REF FILE: compare with the serial output
  if cmp -s "$2" "$3"; then
    echo "ok - $1"
  else
    echo "not ok - $1"
    diff "$2" "$3" | head -20
    fail=1
  fi
}
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for name in check bounds otdd; do
  script=$here/$name.lua
  ref=$tmp/$name.serial.out
  "$otlab" -E --no-panel "$script" >"$ref" || { echo "not ok - $name: serial run"; exit 1; }
  grep -q '^done$' "$ref" || { echo "not ok - $name: serial run incomplete"; exit 1; }
  for np in 1 2 4; do
    out=$tmp/$name.np$np
    if timeout 300 mpirun --allow-run-as-root --oversubscribe -np $np "$otlab" -E --no-panel "$script" \
        >"$out.out" 2>"$out.err"; then
      check "$name: mpirun -np $np" "$ref" "$out.out"
    else
      echo "not ok - $name: mpirun -np $np failed"
      tail -20 "$out.err"
      fail=1
    fi
  done
  # shards 1..3 of 3, then the reduce step.  A shard run computes its share
  # of the first distributed call whose files are not all there yet and
  # stops; so the shards run again until one of them finishes the script
  # (as a job array would be resubmitted per stage).
  dir=$tmp/$name.shards
  for pass in $(seq 1 20); do
    for i in 1 2 3; do
      OTLAB_SHARD=$i/3 OTLAB_SHARD_DIR=$dir "$otlab" -E --no-panel "$script" >"$tmp/shard$i.out" \
        2>"$tmp/shard$i.err" || { echo "not ok - $name: shard $i/3"; tail -5 "$tmp/shard$i.err"; fail=1; }
    done
    grep -q '^done$' "$tmp/shard1.out" && break
  done
  grep -q '^done$' "$tmp/shard1.out" || { echo "not ok - $name: the shards never finished"; fail=1; }
  OTLAB_SHARD=reduce OTLAB_SHARD_DIR=$dir "$otlab" -E --no-panel "$script" >"$tmp/reduce.out" 2>&1
  # adaptive bounds do not run as shards (the script says so instead)
  grep -v adaptive "$ref" >"$tmp/ref.shards"
  grep -v adaptive "$tmp/reduce.out" >"$tmp/reduce.cmp"
  check "$name: shards 1..3 of 3 + reduce" "$tmp/ref.shards" "$tmp/reduce.cmp"
done
# a stop on one rank stops them all at the same batch (no rank hangs)
if timeout 120 mpirun --allow-run-as-root --oversubscribe -np 2 "$otlab" -E --no-panel \
    "$here/cancel.lua" >"$tmp/cancel.out" 2>"$tmp/cancel.err" && grep -q '^done$' "$tmp/cancel.out"; then
  echo "ok - bounds: a stop on one rank stops every rank"
else
  echo "not ok - bounds: a stop on one rank stops every rank"
  tail -20 "$tmp/cancel.err"
  fail=1
fi
# a script that fails on one rank ends the whole job with status 1 (MPI_Abort),
# instead of leaving the other rank waiting in a collective
printf '%s\n' 'if ot.mpi.rank() == 1 then error("rank 1 fails") end' 'ot.mpi.barrier()' \
  'print("after the barrier")' >"$tmp/fail.lua"
timeout 120 mpirun --allow-run-as-root --oversubscribe -np 2 "$otlab" -E --no-panel "$tmp/fail.lua" \
  >"$tmp/fail.out" 2>"$tmp/fail.err"
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && ! grep -q 'after the barrier' "$tmp/fail.out" &&
    grep -q 'rank 1: the script failed; stopping all 2 ranks' "$tmp/fail.err"; then
  echo "ok - an error on one rank ends the job (status $rc)"
else
  echo "not ok - an error on one rank ends the job (status $rc; 124: it hung)"
  tail -20 "$tmp/fail.err"
  fail=1
fi
exit $fail
