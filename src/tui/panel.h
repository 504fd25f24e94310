/*
 * panel.h -- the live ncurses panel (specs/repl-tui.md, "The panel").
 * (Being written; the only file besides panel.c that may mention curses.)
 */
#ifndef OTLAB_TUI_PANEL_H
#define OTLAB_TUI_PANEL_H

#endif
