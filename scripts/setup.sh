# setup.sh -- sourced by scripts/otlab and scripts/test: installs the Debian
# packages otlab needs (when missing) and configures/builds a build tree.
# Messages go to stderr so that `scripts/otlab - < file` keeps stdout clean.

OTLAB_ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Packages to build and run otlab; the test command adds its own tools.
OTLAB_BUILD_PACKAGES=(gcc meson ninja-build pkg-config liblua5.4-dev libreadline-dev
  libncurses-dev libopenblas-dev liblapacke-dev zlib1g-dev)

otlab_say() { printf 'otlab-setup: %s\n' "$*" >&2; }

# otlab_install_packages PKG...: apt-get install the ones not installed yet.
otlab_install_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  otlab_say "installing Debian packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      otlab_say "missing packages: ${missing[*]}"
      otlab_say "run as root or install sudo, or install them yourself: apt-get install ${missing[*]}"
      return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    otlab_say "no apt-get here; install the equivalents of: ${missing[*]}"
    return 1
  fi
  # A stale package list makes installs fail: refresh it once, then install.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || true
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2 || {
    otlab_say "apt-get install failed for: ${missing[*]}"
    return 1
  }
}

# otlab_build DIR [meson setup options...]: configure when needed, then build.
otlab_build() {
  local dir=$1
  shift
  mkdir -p "$dir"
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$OTLAB_ROOT_DIR" "$@" >"$dir/otlab-setup.log" 2>&1 || {
      cat "$dir/otlab-setup.log" >&2
      otlab_say "meson setup failed (log above)"
      return 1
    }
  fi
  ninja -C "$dir" >"$dir/otlab-build.log" 2>&1 || {
    cat "$dir/otlab-build.log" >&2
    otlab_say "build failed (log above)"
    return 1
  }
}
