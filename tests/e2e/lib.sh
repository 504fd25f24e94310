# tests/e2e/lib.sh: what the tmux-driven end-to-end scripts share.  Source it
# after setting OTLAB_ARGS (arguments put before a session's own, e.g. -E)
# and SCREEN_ARGS (capture-pane arguments, e.g. -S -200 for the scrollback);
# it checks for tmux (exit 77, "skipped"), makes a private tmux server and a
# temporary HOME with the XDG directories and OTLAB_HISTORY in it ($T), and
# defines check, start, screen, wait_screen, wait_gone, wait_prompt,
# type_line, wait_exit, count and finish.  CHECK_CLEAR=1: a failed check
# sends Ctrl-C to every session so that the next starts from a clean line.

OTLAB=${1:?usage: $0 path/to/otlab}
case $OTLAB in /*) ;; *) OTLAB=$PWD/$OTLAB ;; esac
if ! command -v tmux >/dev/null 2>&1; then
  echo "SKIP: tmux is not installed"
  exit 77
fi

T=$(mktemp -d)
SOCK=otlab-e2e-$(basename "$0" .sh)-$$
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
cleanup() {
  tm kill-server >/dev/null 2>&1
  rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK" # the server may leave its socket
  rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/home" "$T/config/otlab" "$T/state" "$T/histdir"
export HOME=$T/home XDG_CONFIG_HOME=$T/config XDG_STATE_HOME=$T/state
export OTLAB_HISTORY=$T/history NO_COLOR=

passed=0
failed=0
check() { # check DESCRIPTION COMMAND...: run it, print one line
  local desc=$1
  shift
  if "$@"; then
    echo "ok   - $desc"
    passed=$((passed + 1))
  else
    echo "FAIL - $desc"
    failed=$((failed + 1))
    if [ "${CHECK_CLEAR:-0}" = 1 ]; then
      local s
      for s in $(tm list-sessions -F '#S' 2>/dev/null); do tm send-keys -t "$s" C-c; done
      sleep 0.2
    fi
  fi
}
# the summary line and the exit status
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# start NAME [otlab args...]: otlab in a new 100x30 tmux session; its exit
# status goes to $T/rc.NAME.
start() {
  local name=$1
  shift
  local cmd
  # shellcheck disable=SC2086 # OTLAB_ARGS splits on purpose
  cmd=$(printf '%q ' env TERM="${TERM_INSIDE:-xterm-256color}" "$OTLAB" ${OTLAB_ARGS:-} "$@")
  tm new-session -d -s "$name" -x 100 -y 30 \
    "$cmd 2>&1; echo \$? > $T/rc.$name; sleep 60"
}
# screen NAME: the pane's text, wrapped lines joined, trailing blanks cut
# shellcheck disable=SC2086 # SCREEN_ARGS splits on purpose
screen() { tm capture-pane -p -J -t "$1" ${SCREEN_ARGS:-} 2>/dev/null | sed 's/[[:space:]]*$//'; }
# wait_screen NAME REGEX [SECONDS]: poll until the pane shows a line matching
wait_screen() {
  local i
  for ((i = 0; i < ${3:-10} * 50; i++)); do
    screen "$1" | grep -Eq -- "$2" && return 0
    sleep 0.02
  done
  echo "     (timed out waiting for /$2/ in $1; screen:)"
  screen "$1" | sed '/^$/d' | tail -n 12 | sed 's/^/     | /'
  return 1
}
# wait_gone NAME REGEX [SECONDS]: no line matches any more
wait_gone() {
  local i
  for ((i = 0; i < ${3:-10} * 50; i++)); do
    screen "$1" | grep -Eq -- "$2" || return 0
    sleep 0.02
  done
  echo "     (/$2/ still on the screen of $1)"
  return 1
}
# wait_prompt NAME [SECONDS]: the last non-empty line is the bare prompt
wait_prompt() {
  local i
  for ((i = 0; i < ${2:-10} * 50; i++)); do
    [ "$(screen "$1" | sed '/^ *$/d' | tail -n 1)" = ">" ] && return 0
    sleep 0.02
  done
  echo "     (no prompt in $1; screen:)"
  screen "$1" | sed '/^$/d' | tail -n 12 | sed 's/^/     | /'
  return 1
}
# type_line NAME TEXT: type a line and Enter (tmux reads a final ';' as a
# command separator, hence the escape)
type_line() { tm send-keys -t "$1" -l "${2%;}" && { [ "${2%;}" = "$2" ] || tm send-keys -t "$1" '\;'; } &&
  tm send-keys -t "$1" Enter; }
# wait_exit NAME: otlab ended; prints its status
wait_exit() {
  local i
  for ((i = 0; i < 500; i++)); do
    [ -s "$T/rc.$1" ] && { cat "$T/rc.$1"; return 0; }
    sleep 0.02
  done
  echo timeout
}
# count NAME REGEX: lines of the pane matching
count() { screen "$1" | grep -c -- "$2"; }
