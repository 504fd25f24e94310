#!/usr/bin/env bash
# tests/e2e/repl.sh OTLAB: drives the real otlab binary -- at a prompt in a
# tmux terminal of fixed size (100x30, TERM=xterm-256color) and through
# pipes -- and checks what a user sees.  Prints one line per check and exits
# non-zero when any failed (77, "skipped", when tmux is missing).
#
# Everything runs in a private tmux server and a temporary HOME, with the
# XDG directories and OTLAB_HISTORY pointing into it.  Waits poll the
# screen with a timeout instead of sleeping.
set -u

OTLAB_ARGS=
SCREEN_ARGS="-S -200"
CHECK_CLEAR=1
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start s
wait_prompt s 20 || { echo "FAIL - otlab did not show its prompt"; exit 1; }

t_autoprint() {
  type_line s '12345+1'
  wait_screen s '^12346$'
}
check "auto-print: 12345+1 shows 12346" t_autoprint

t_continuation() {
  type_line s 'for i = 1, 2 do'
  wait_screen s '^  >> ?$' || return 1
  type_line s 'print("loop" .. i) end'
  wait_screen s '^loop2$' && screen s | grep -q '^loop1$' && wait_prompt s
}
check "continuation: a for loop over two lines" t_continuation

t_quiet() {
  type_line s '12345+2;'
  wait_prompt s || return 1
  type_line s '_'
  wait_screen s '^12347$' && [ "$(count s '^12347$')" = 1 ]
}
check "a trailing ; hides the result and _ holds it" t_quiet

t_complete() {
  tm send-keys -t s -l 'ot.ze'
  tm send-keys -t s Tab
  wait_screen s '^> ot\.zeros$' || return 1
  tm send-keys -t s C-c
  wait_prompt s
}
check "completion: ot.ze<Tab> gives ot.zeros" t_complete

t_method() {
  type_line s 'm = ot.zeros(2, 2)'
  wait_prompt s || return 1
  tm send-keys -t s -l 'm:sh'
  tm send-keys -t s Tab
  wait_screen s '^> m:shape$' || return 1
  tm send-keys -t s -l '()'
  tm send-keys -t s Enter
  wait_screen s '^2[[:space:]]+2$'
}
check "completion: m:sh<Tab> gives m:shape" t_method

t_key() {
  type_line s 'tk = {alpha_key = 12360}'
  wait_prompt s || return 1
  tm send-keys -t s -l 'tk["alp'
  tm send-keys -t s Tab
  wait_screen s '^> tk\["alpha_key"\]$' || return 1
  tm send-keys -t s Enter
  wait_screen s '^12360$'
}
check 'completion: tk["alp<Tab> gives tk["alpha_key"]' t_key

t_complete_strings() {
  : >"$T/uniq_file_12371.txt"
  tm send-keys -t s -l "f = io.open(\"$T/uniq_fi"
  tm send-keys -t s Tab
  wait_screen s "^> f = io.open\\(\"$T/uniq_file_12371.txt\"$" || return 1
  tm send-keys -t s C-c
  wait_prompt s || return 1
  tm send-keys -t s -l 'p = require "prel'
  tm send-keys -t s Tab
  wait_screen s '^> p = require "prelude"$' || return 1
  tm send-keys -t s C-c
  wait_prompt s
}
check 'completion: file names in strings, modules in require "' t_complete_strings

t_help() {
  type_line s '?ot.seed'
  wait_screen s '^ot\.seed\(n\)' && wait_prompt s
}
check "?ot.seed shows the help page" t_help

t_error() {
  type_line s 'error("oops_12361")'
  wait_screen s 'oops_12361' || return 1
  type_line s '12345+17'
  wait_screen s '^12362$'
}
check "an error is reported and the session goes on" t_error

t_idle_ctrl_c() {
  tm send-keys -t s -l 'partial_text'
  wait_screen s '^> partial_text$' || return 1
  tm send-keys -t s C-c
  wait_screen s '^> partial_text\^C$' || return 1
  wait_prompt s || return 1
  type_line s '12345+18'
  wait_screen s '^12363$'
}
check "Ctrl-C at the prompt clears the line" t_idle_ctrl_c

t_busy_ctrl_c() {
  type_line s 'while true do end'
  sleep 0.3
  screen s | sed '/^ *$/d' | tail -n 1 | grep -q '^> while true do end$' || return 1
  local t0 t1
  t0=$(date +%s%N)
  tm send-keys -t s C-c
  wait_screen s 'interrupted' 5 || return 1
  wait_prompt s 5 || return 1
  t1=$(date +%s%N)
  local ms=$(((t1 - t0) / 1000000))
  echo "     (prompt back ${ms} ms after Ctrl-C, polling included)"
  [ "$ms" -lt 1000 ] || return 1
  type_line s '12345+19'
  wait_screen s '^12364$'
}
check "Ctrl-C stops while true do end; the next command works" t_busy_ctrl_c

t_kernel_ctrl_c() {
  # A log-domain Sinkhorn that would run for minutes: the kernel polls the
  # interrupt flag and the binding names where it stopped.
  type_line s 'X = ot.rand(2000, 2); M = ot.dist(X, X)'
  wait_prompt s 10 || return 1
  type_line s 'P = ot.sinkhorn({}, {}, M, 0.001, {method = "log", tol = 0, max_iter = 10^6})'
  sleep 0.5
  local t0 t1
  t0=$(date +%s%N)
  tm send-keys -t s C-c
  wait_screen s 'ot.sinkhorn: interrupted at iteration [0-9]+' 5 || return 1
  wait_prompt s 5 || return 1
  t1=$(date +%s%N)
  echo "     (prompt back $(((t1 - t0) / 1000000)) ms after Ctrl-C, polling included)"
  [ $(((t1 - t0) / 1000000)) -lt 1000 ] || return 1
  type_line s 'M:shape()'
  wait_screen s '^2000 +2000$'
}
check "Ctrl-C stops a long Sinkhorn kernel; state intact, the next command works" t_kernel_ctrl_c

t_timing() {
  type_line s ':time on'
  wait_screen s '^timing is on$' || return 1
  type_line s '12345+20'
  wait_screen s '^time: [0-9.]+ (us|ms|s)$' || return 1
  type_line s ':time off'
  wait_screen s '^timing is off$'
}
check ":time on prints the wall time of each command" t_timing

t_history_write() {
  type_line s ' secret_line = 1'
  wait_prompt s || return 1
  type_line s 'hist_marker = 12365'
  wait_prompt s || return 1
  tm send-keys -t s C-d
  [ "$(wait_exit s)" = 0 ]
}
check "Ctrl-D on an empty line exits with status 0" t_history_write

t_history_read() {
  start h
  wait_prompt h 20 || return 1
  tm send-keys -t h Up
  wait_screen h '^> hist_marker = 12365$' || return 1
  tm send-keys -t h C-c
  wait_prompt h || return 1
  ! grep -q secret_line "$T/history"
}
check "history survives a restart (Up recalls the last command; ' x' is not kept)" t_history_read

t_history_prefix() {
  tm send-keys -t h -l 'for'
  tm send-keys -t h Up
  wait_screen h '^> for i = 1, 2 do$' || return 1
  tm send-keys -t h C-c
  wait_prompt h
}
check "Up searches the history by prefix" t_history_prefix

t_bad_history() {
  start u --history "$T/histdir"
  wait_prompt u 20 || return 1
  type_line u '12345+21'
  wait_screen u '^12366$' || return 1
  type_line u '12345+22'
  wait_screen u '^12367$' || return 1
  [ "$(count u 'history will not be saved')" = 1 ] && [ "$(count u warning)" = 1 ]
}
check "--history naming a directory: one warning, the session works" t_bad_history

t_dumb_prompt() {
  TERM_INSIDE=dumb start d
  wait_screen d '^> ?$' 20 || return 1
  type_line d '12345+23'
  wait_screen d '^12368$'
}
check "TERM=dumb at the prompt" t_dumb_prompt

# ---- pipes and the command line ------------------------------------------------------

t_pipe_error() {
  printf 'print("before_error")\nerror("boom_12369")\n' |
    TERM=xterm-256color "$OTLAB" >"$T/out" 2>&1
  local rc=$?
  [ "$rc" = 1 ] && grep -q '^before_error$' "$T/out" && grep -q 'stdin:2: boom_12369' "$T/out" &&
    ! grep -qP '\x1b' "$T/out"
}
check "a piped chunk with an error exits 1, no escape bytes" t_pipe_error

t_pipe_ok() {
  printf 'x = 2\nprint(x * 21)\n' | TERM=xterm-256color "$OTLAB" >"$T/out" 2>&1 &&
    [ "$(cat "$T/out")" = 42 ]
}
check "a piped chunk runs as one chunk and exits 0" t_pipe_ok

t_dumb_pipe() {
  printf 'print(ot.zeros(2, 3))\nprint(ot.seed ~= nil)\n' | TERM=dumb "$OTLAB" >"$T/out" 2>&1 &&
    grep -q '^true$' "$T/out" && ! grep -qP '\x1b' "$T/out"
}
check "TERM=dumb in a pipe" t_dumb_pipe

t_args() {
  printf 'print(X, select("#", ...), arg[0], arg[1], arg[-1], arg[-2], ...)\n' >"$T/s.lua"
  local out
  out=$("$OTLAB" -e 'X = 5' "$T/s.lua" a b 2>&1) &&
    [ "$out" = "$(printf '5\t2\t%s\ta\tX = 5\t-e\ta\tb' "$T/s.lua")" ]
}
check "-e then a script with arguments (arg table and ...)" t_args

t_stdin_dash() {
  [ "$(echo 'print(...)' | "$OTLAB" - p q 2>&1)" = "$(printf 'p\tq')" ]
}
check "- runs stdin with arguments" t_stdin_dash

t_exit_codes() {
  "$OTLAB" -e 'x = 1' || return 1
  "$OTLAB" -e 'error("e")' 2>/dev/null && return 1
  printf 'error("in script")\n' >"$T/bad.lua"
  "$OTLAB" "$T/bad.lua" 2>/dev/null && return 1
  "$OTLAB" "$T/no-such-file.lua" 2>/dev/null && return 1
  "$OTLAB" -e 'os.exit(3)'
  [ $? = 3 ] || return 1
  printf 'return 1\n' >"$T/good.lua"
  "$OTLAB" "$T/good.lua"
}
check "exit status 0 on success, 1 on errors" t_exit_codes

t_binary() {
  "$OTLAB" -e "local f = assert(io.open('$T/b.luac', 'wb')) f:write(string.dump(function() print('bin') end)) f:close()" ||
    return 1
  "$OTLAB" "$T/b.luac" >"$T/out" 2>&1 && return 1
  grep -q 'precompiled Lua chunks are not accepted' "$T/out" || return 1
  "$OTLAB" <"$T/b.luac" >"$T/out" 2>&1 && return 1
  grep -q 'precompiled' "$T/out" && ! grep -q bin "$T/out"
}
check "precompiled chunks are refused with a clear message" t_binary

t_options() {
  "$OTLAB" --bogus >"$T/out" 2>&1 && return 1
  grep -q "unrecognized option '--bogus'" "$T/out" && grep -q '^usage:' "$T/out" || return 1
  "$OTLAB" -e >/dev/null 2>&1 && return 1
  "$OTLAB" --help | grep -q -- '--mem-limit' || return 1
  "$OTLAB" --mem-limit lots -e '' 2>/dev/null && return 1
  "$OTLAB" --seed x -e '' 2>/dev/null && return 1
  "$OTLAB" --seed 7 --threads 1 --mem-limit 1G --no-panel --no-color -e '
    local a = ot.rand(1):get(1); ot.seed(7); assert(a == ot.rand(1):get(1))
    assert(ot.threads() == 1 and ot.mem_limit() == 2^30)
    assert(package.loaded["otlab.host"].panel == false)' || return 1
  "$OTLAB" -v | grep -q '^otlab [0-9]'
}
check "options: bad ones exit 1 with the usage; --seed --threads --mem-limit" t_options

t_init() {
  echo 'INIT_RAN = "yes"' >"$T/config/otlab/init.lua"
  [ "$("$OTLAB" -e 'print(INIT_RAN)')" = yes ] || return 1
  [ "$("$OTLAB" -E -e 'print(INIT_RAN)')" = nil ] || return 1
  echo 'error("broken init")' >"$T/config/otlab/init.lua"
  "$OTLAB" -e 'print(1)' >"$T/out" 2>&1 && return 1
  grep -q 'broken init' "$T/out" || return 1
  rm "$T/config/otlab/init.lua"
}
check "the init file runs first, -E skips it, an error in it exits 1" t_init

t_lib() {
  mkdir -p "$T/mods"
  echo 'return {v = 12370}' >"$T/mods/e2emod.lua"
  [ "$(LUA_PATH="$T/mods/?.lua;;" "$OTLAB" -l e2emod -l g=e2emod -e 'print(e2emod.v, g.v)')" = \
    "$(printf '12370\t12370')" ]
}
check "-l mod and -l g=mod" t_lib

t_history_places() {
  printf 'xdg_12373 = 1\n' | env -u OTLAB_HISTORY "$OTLAB" -i >/dev/null 2>&1 &&
    grep -q '^xdg_12373 = 1$' "$XDG_STATE_HOME/otlab/history" || return 1
  printf 'home_12374 = 1\n' | env -u OTLAB_HISTORY -u XDG_STATE_HOME "$OTLAB" -i >/dev/null 2>&1 &&
    grep -q '^home_12374 = 1$' "$HOME/.otlab_history" || return 1
  printf 'none_12375 = 1\n' | OTLAB_HISTORY= "$OTLAB" -i >/dev/null 2>&1 &&
    ! grep -rq none_12375 "$T"
}
check "history goes to \$XDG_STATE_HOME/otlab, else ~/.otlab_history; OTLAB_HISTORY= keeps none" \
  t_history_places

t_mem_escape() {
  printf 'pcall(ot.mem_limit, 1)\n:mem-limit 0\nprint("alive_" .. 12372)\n' |
    "$OTLAB" -i >"$T/out" 2>&1 && grep -q '^alive_12372$' "$T/out" &&
    grep -q '^memory budget unlimited' "$T/out"
}
check ":mem-limit at the prompt rescues a session whose budget is spent" t_mem_escape

t_locale() {
  # a decimal-comma locale, built into the temporary directory
  mkdir -p "$T/locale"
  if ! localedef -i de_DE -f UTF-8 "$T/locale/de_DE.UTF-8" >/dev/null 2>&1 &&
    [ ! -d "$T/locale/de_DE.UTF-8" ]; then
    echo "     (no de_DE locale source: checked the C locale only)"
  fi
  local out
  out=$(LOCPATH=$T/locale LC_ALL=de_DE.UTF-8 "$OTLAB" -e \
    'print(1.5, tonumber("2.5"), ("%.2f"):format(0.25), os.setlocale(nil, "numeric"))') &&
    [ "$out" = "$(printf '1.5\t2.5\t0.25\tC')" ]
}
check "numbers print and parse with a dot under a decimal-comma locale" t_locale

finish
