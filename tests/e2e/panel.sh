#!/usr/bin/env bash
# tests/e2e/panel.sh OTLAB: the live panel, driven in a tmux terminal of
# fixed size (100x30, TERM=xterm-256color): a long ot.sinkhorn on 500x500
# points typed at the prompt opens the panel (error curve falling, plan
# heatmap), which closes back to a working prompt with the screen and the
# history intact; the q, c and p keys; a resize; the text fallbacks (pipe,
# TERM=dumb: no escape bytes, progress lines on stderr).  Prints one line
# per check; exits non-zero when any failed (77, "skipped", without tmux).
set -u

OTLAB_ARGS=-E
SCREEN_ARGS=
CHECK_CLEAR=0
export LANG=C.UTF-8
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# the panel's header value of err as a number
header_err() { screen "$1" | sed -n 's/^otlab panel: .* err \([^ ]*\) .*/\1/p' | head -n 1; }

SETUP='x = ot.linspace(0, 1, 500); y = ot.linspace(0.2, 1.3, 500); M = ot.dist(x, y)'
# about 5 s on an idle machine (0.24 ms an iteration in the normal build)
LONG='P, info = ot.sinkhorn(nil, nil, M, 2e-4, {method = "log", max_iter = 20000, tol = 0})'
ENDLESS='P, info = ot.sinkhorn(nil, nil, M, 2e-4, {method = "log", max_iter = 10000000, tol = 0})'
# stops itself after 2.5 s whatever the build's speed (ASan is several times slower)
TIMED='ok, e = pcall(ot.sinkhorn, nil, nil, M, 2e-4, {method = "log", max_iter = 10000000, tol = 0, progress = function(p) return p.elapsed < 2.5 end}); print("stopped_" .. tostring(not ok))'

start s
wait_prompt s 20 || { echo "FAIL - otlab did not show its prompt"; exit 1; }
type_line s 'before_panel = 12345 + 1'
type_line s 'before_panel'
wait_screen s '^12346$' || exit 1
type_line s "$SETUP"
wait_prompt s || exit 1

t_open() {
  type_line s "$LONG"
  wait_screen s '^otlab panel: sinkhorn' 10 || return 1
  wait_screen s 'marginal error \(log\)' 2 && wait_screen s 'plan \(500 x 500\)' 2 &&
    wait_screen s '^q close panel +c cancel job +p pause redraw$' 2 || return 1
  local e1 e2
  e1=$(header_err s)
  sleep 1
  e2=$(header_err s)
  echo "     (err on the panel: $e1, then $e2)"
  [ -n "$e1" ] && [ -n "$e2" ] && awk -v a="$e1" -v b="$e2" 'BEGIN { exit !(b < a) }'
}
check "ot.sinkhorn on 500x500 from the prompt opens the panel: error curve falling, plan heatmap" t_open

t_close() {
  wait_gone s '^otlab panel:' 90 && wait_prompt s 5 || return 1
  # the screen from before the panel is intact
  screen s | grep -q '^> before_panel$' && screen s | grep -q '^12346$' || return 1
  type_line s 'info.iterations'
  wait_screen s '^20000$' || return 1
  # history intact: Up finds the line typed before the run
  tm send-keys -t s 'before_p' Up
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(screen s | sed '/^ *$/d' | tail -n 1)" = "> before_panel" ] && break
    sleep 0.02
  done
  [ "$(screen s | sed '/^ *$/d' | tail -n 1)" = "> before_panel" ] ||
    { echo "     (Up did not bring back the line from before the panel)"; return 1; }
  tm send-keys -t s C-e C-u
  type_line s '2 * 21'
  wait_screen s '^42$'
}
check "the panel closes back to a working prompt, screen and history intact" t_close

t_quit_key() {
  type_line s "$TIMED"
  wait_screen s '^otlab panel: sinkhorn' 10 || return 1
  tm send-keys -t s q
  wait_gone s '^otlab panel:' 2 || return 1
  # the job went on until its own stop at 2.5 s
  wait_screen s '^stopped_true$' 10 && wait_prompt s 5
}
check "q closes the panel and the job goes on" t_quit_key

t_pause_key() {
  type_line s "$ENDLESS"
  wait_screen s '^otlab panel: sinkhorn' 10 || return 1
  tm send-keys -t s p
  wait_screen s '^otlab panel: .*\(paused\)' 2 || return 1
  local a b
  a=$(screen s | head -n 1)
  sleep 0.5
  b=$(screen s | head -n 1)
  [ "$a" = "$b" ] || { echo "     (the header changed while paused)"; return 1; }
  tm send-keys -t s p
  wait_gone s '\(paused\)' 2
}
check "p pauses the redraw and resumes it" t_pause_key

t_resize() {
  tm resize-window -t s -x 80 -y 24 2>/dev/null || tm resize-pane -t s -x 80 -y 24
  # the key line moves to the new last row; no line is wider than 80
  local i ok=1
  for ((i = 0; i < 100; i++)); do
    [ "$(screen s | sed -n 24p)" = "q close panel   c cancel job   p pause redraw" ] && break
    sleep 0.02
  done
  [ "$(screen s | sed -n 24p)" = "q close panel   c cancel job   p pause redraw" ] || ok=0
  [ "$(screen s | wc -l)" -le 24 ] || ok=0
  screen s | grep -q 'marginal error (log)' || ok=0
  [ $ok = 1 ] || { screen s | sed 's/^/     | /' | tail -n 6; return 1; }
}
check "a resize re-lays out the panel" t_resize

t_cancel_key() {
  tm send-keys -t s c
  wait_gone s '^otlab panel:' 3 || return 1
  wait_screen s 'ot.sinkhorn: interrupted at iteration [0-9]+' 3 && wait_prompt s 3 || return 1
  type_line s '6 * 7 + 1'
  wait_screen s '^43$'
}
check "c cancels the job: \"interrupted\", then the prompt works" t_cancel_key

t_ctrl_c() {
  type_line s "$ENDLESS"
  wait_screen s '^otlab panel: sinkhorn' 10 || return 1
  local t0 t1
  t0=$(date +%s%N)
  tm send-keys -t s C-c
  wait_gone s '^otlab panel:' 3 || return 1
  t1=$(date +%s%N)
  echo "     (panel gone $(((t1 - t0) / 1000000)) ms after Ctrl-C)"
  wait_screen s 'ot.sinkhorn: interrupted at iteration [0-9]+' 3 && wait_prompt s 3 || return 1
  type_line s '6 * 7 + 2'
  wait_screen s '^44$'
}
check "Ctrl-C with the panel open: \"interrupted\", the prompt works" t_ctrl_c

t_output() {
  # a progress callback that prints: the panel closes so the text shows,
  # and does not come back during that run
  # (the print is timed by the run's clock, not by a count of progress
  # calls, whose pacing is the kernel's business: it must come after the
  # panel has opened at 0.4 s)
  type_line s 'k = 0; ok, e = pcall(ot.sinkhorn, nil, nil, M, 2e-4, {method = "log", max_iter = 10000000, tol = 0, progress = function(p) if k == 0 and p.elapsed > 1.2 then k = 1; print("said_" .. 4321) end; return p.elapsed < 2.5 end})'
  wait_screen s '^otlab panel: sinkhorn' 10 || return 1
  wait_screen s '^said_4321$' 10 || return 1
  local i
  for ((i = 0; i < 25; i++)); do
    screen s | grep -q '^otlab panel:' && { echo "     (the panel came back)"; return 1; }
    sleep 0.04
  done
  wait_prompt s 20
}
check "printing closes the panel for the rest of the run" t_output

t_quick() {
  # a quick call never opens the panel
  tm resize-window -t s -x 100 -y 30 2>/dev/null
  type_line s 'Q = ot.sinkhorn(nil, nil, M, 0.5); quick_done = 1'
  type_line s 'quick_done'
  wait_screen s '^1$' 5 || return 1
  ! tm capture-pane -p -t s -S -300 | grep -q '^otlab panel:'
}
check "a quick call does not open the panel" t_quick

t_show() {
  type_line s 'ui.show()'
  wait_screen s '^otlab panel: sinkhorn' 5 || return 1
  tm send-keys -t s q
  wait_gone s '^otlab panel:' 3 && wait_prompt s 3
}
check "ui.show() shows the last run until q" t_show

t_no_panel() {
  start n --no-panel
  wait_prompt n 20 || return 1
  type_line n "$SETUP"
  type_line n "$TIMED"
  wait_screen n '^\[sinkhorn\] at iteration [0-9]+/10000000, err ' 15 || return 1
  wait_prompt n 20 || return 1
  ! screen n | grep -q '^otlab panel:'
}
check "--no-panel: progress lines instead of the panel" t_no_panel

t_exit() {
  # Ctrl-D ends the session with status 0 (under ASan: no leak from the panel)
  tm send-keys -t s C-d
  local i
  for ((i = 0; i < 500; i++)); do
    [ -s "$T/rc.s" ] && break
    sleep 0.02
  done
  [ "$(cat "$T/rc.s" 2>/dev/null)" = 0 ] || { screen s | tail -n 8 | sed 's/^/     | /'; return 1; }
}
check "the session that used the panel exits with status 0" t_exit

# ---- without a terminal -----------------------------------------------------------

CHUNK="$SETUP; $TIMED"

t_pipe() {
  printf '%s\n' "$CHUNK" | TERM=xterm-256color "$OTLAB" -E >"$T/out" 2>"$T/err" || return 1
  grep -q '^stopped_true$' "$T/out" &&
    grep -Eq '^\[sinkhorn\] at iteration [0-9]+/10000000, err [0-9.e-]+, objective [0-9.e-]+, [0-9.]+ s$' "$T/err" &&
    grep -Eq '^\[sinkhorn\] ended at iteration [0-9]+/10000000' "$T/err" &&
    ! grep -qP '\x1b' "$T/out" "$T/err"
}
check "a pipe: progress lines on stderr, a summary, no escape bytes" t_pipe

t_dumb() {
  # a real terminal (script's pty) with TERM=dumb: no panel, no escape bytes
  TERM=dumb script -qec "$(printf '%q ' "$OTLAB" -E -e "$CHUNK")" "$T/typescript" >/dev/null 2>&1 ||
    return 1
  grep -q 'stopped_true' "$T/typescript" && grep -q '^\[sinkhorn\] at iteration' "$T/typescript" &&
    ! grep -qP '\x1b' "$T/typescript"
}
check "TERM=dumb on a terminal: progress lines, no escape bytes" t_dumb

t_unknown_term() {
  TERM=no-such-terminal-xyz script -qec "$(printf '%q ' "$OTLAB" -E -e "$CHUNK")" \
    "$T/typescript2" >/dev/null 2>&1 || return 1
  grep -q 'stopped_true' "$T/typescript2" && grep -q '^\[sinkhorn\] at iteration' "$T/typescript2" &&
    ! grep -qP '\x1b' "$T/typescript2"
}
check "an unknown TERM: no panel, the session goes on" t_unknown_term

finish
