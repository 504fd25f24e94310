#!/usr/bin/env bash
# scripts/make-bundled-data.sh: regenerates share/data/ from Debian packages.
#
# The files it writes are committed; nothing at runtime runs this script, and
# nothing here needs Python.  Run it from anywhere:
#   scripts/make-bundled-data.sh            (writes into share/data/)
#   scripts/make-bundled-data.sh OUTDIR     (writes elsewhere, e.g. to compare)
#
# Sources (Debian 12 packages):
#   python3-sklearn        /usr/lib/python3/dist-packages/sklearn/datasets/data/
#                          digits.csv.gz, iris.csv, wine_data.csv
#   dataset-fashion-mnist  /usr/share/datasets/fashion-mnist/*-ubyte.gz
#
# What it does:
#   digits.csv.gz   copied byte for byte (1797 rows, 64 pixel counts 0..16, then
#                   the digit label 0..9; no header).
#   iris.csv        sklearn's first row "150,4,setosa,versicolor,virginica" (counts
#   wine.csv        and class names) is replaced by a plain header naming the
#                   columns; the data rows are copied unchanged.
#   fashion-mnist/  the first 1000 training and first 500 test images and labels,
#                   as IDX files with the item count in the header rewritten,
#                   gzip -9 -n (no name or time stamp, so reruns are identical).
set -eu  # no pipefail: readers stop early on purpose (head); sizes are checked

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$here/share/data}
sk=/usr/lib/python3/dist-packages/sklearn/datasets/data
fm=/usr/share/datasets/fashion-mnist
ntrain=1000
ntest=500

for f in "$sk/digits.csv.gz" "$sk/iris.csv" "$sk/wine_data.csv"; do
  [ -r "$f" ] || { echo "missing $f: apt-get install python3-sklearn" >&2; exit 1; }
done
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
         t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  [ -r "$fm/$f" ] || { echo "missing $fm/$f: apt-get install dataset-fashion-mnist" >&2; exit 1; }
done

mkdir -p "$out/fashion-mnist"

# ---- UCI tables from scikit-learn ------------------------------------------
cp "$sk/digits.csv.gz" "$out/digits.csv.gz"

# replace_header SRC DST HEADER: DST is SRC with its first line replaced.
replace_header() {
  { printf '%s\n' "$3"; tail -n +2 "$1" | tr -d '\r'; } > "$2"
}
replace_header "$sk/iris.csv" "$out/iris.csv" \
  "sepal_length,sepal_width,petal_length,petal_width,species"
replace_header "$sk/wine_data.csv" "$out/wine.csv" \
  "alcohol,malic_acid,ash,alcalinity_of_ash,magnesium,total_phenols,flavanoids,nonflavanoid_phenols,proanthocyanins,color_intensity,hue,od280_od315_of_diluted_wines,proline,class"

# ---- Fashion-MNIST subset --------------------------------------------------
# unz SRC: the decompressed bytes of SRC.  Readers below stop early (head), and
# the SIGPIPE that gzip then gets is no error; sizes are checked at the end.
unz() { gzip -dc "$1" 2>/dev/null || true; }

# be32 N: the four bytes of N, big-endian, on stdout.
be32() {
  printf "\\$(printf '%03o' $(( ($1 >> 24) & 255 )))\\$(printf '%03o' $(( ($1 >> 16) & 255 )))"
  printf "\\$(printf '%03o' $(( ($1 >> 8) & 255 )))\\$(printf '%03o' $(( $1 & 255 )))"
}

# idx_head SRC DST COUNT: the first COUNT items of the IDX file SRC (gzipped)
# into DST (gzipped).  The header is the magic, the item count, then one 32-bit
# size per further dimension; the count field is the only one rewritten.
idx_head() {
  local src=$1 dst=$2 count=$3 ndim hdr item magic
  magic=$(unz "$src" | head -c 4 | od -An -tx1 | tr -d ' \n')
  ndim=$(( 16#${magic:6:2} ))
  [ "${magic:0:6}" = "000008" ] || { echo "$src: not an unsigned-byte IDX file" >&2; exit 1; }
  hdr=$(( 4 + 4 * ndim ))
  item=1
  if [ "$ndim" -ge 2 ]; then
    local i d
    for ((i = 1; i < ndim; i++)); do
      d=$(unz "$src" | head -c $(( 8 + 4 * i )) | tail -c 4 | od -An -tu1 |
          awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
      item=$(( item * d ))
    done
  fi
  {
    printf "\\000\\000\\010\\$(printf '%03o' "$ndim")"
    be32 "$count"
    unz "$src" | head -c "$hdr" | tail -c +9
    unz "$src" | tail -c +$(( hdr + 1 )) | head -c $(( count * item ))
  } | gzip -9 -n > "$dst"
  local got
  got=$(gzip -dc "$dst" | wc -c)
  [ "$got" -eq $(( hdr + count * item )) ] ||
    { echo "$dst: $got bytes, expected $(( hdr + count * item ))" >&2; exit 1; }
}

for kind in images-idx3 labels-idx1; do
  idx_head "$fm/train-$kind-ubyte.gz" "$out/fashion-mnist/train-$kind-ubyte.gz" "$ntrain"
  idx_head "$fm/t10k-$kind-ubyte.gz" "$out/fashion-mnist/t10k-$kind-ubyte.gz" "$ntest"
done

# Provenance of this run, for share/data/README.md.
{
  echo "python3-sklearn $(dpkg-query -W -f '${Version}' python3-sklearn 2>/dev/null || echo '?')"
  echo "dataset-fashion-mnist $(dpkg-query -W -f '${Version}' dataset-fashion-mnist 2>/dev/null || echo '?')"
} > "$out/SOURCES"
echo "wrote $out"
