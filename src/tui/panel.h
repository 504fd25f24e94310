/*
 * panel.h -- the live panel (specs/repl-tui.md, "The panel"): what a
 * running solver is doing, drawn with ncurses over the whole terminal.
 *
 * The panel is fed by progress reports (ot_progress, src/ot/ot.h): the host
 * installs tui_panel_progress as the hook of bind_progress, the one progress
 * sink of every binding.  From the reports it keeps, per kernel run, the
 * marginal-error and objective curves, the iteration and the time, and a
 * snapshot of the kernel's ot_view (src/ot/view.h) when p->state points at
 * one: a plan or named matrix (heatmap), bounds (upper/lower curves),
 * particles (2-D scatter coloured by label) or training curves.
 *
 * It opens by itself when a run has lasted TUI_PANEL_DELAY seconds (so quick
 * calls never flash), or at once on tui_panel_show, and only when standard
 * input and output are terminals and TERM names a terminal with cursor
 * addressing (newterm(), never initscr(): a bad TERM must not end the
 * session).  Keys while it is open: q closes it (the job goes on), c cancels
 * the job (the binding reports "interrupted"), p pauses redrawing.  It
 * redraws at most every TUI_PANEL_FRAME seconds, re-lays out on resizes, and
 * gives the terminal back with endwin() (the alternate screen restores what
 * was there, so the prompt and its history are intact).
 *
 * Without a panel (no terminal, TERM=dumb or unknown, --no-panel) a run
 * that lasts prints one progress line every TUI_PANEL_LINE_EVERY seconds on
 * stderr, and a summary line when it ends; never an escape byte.
 *
 * Only this file pair includes curses.h.  Everything runs on the thread
 * that runs Lua.
 */
#ifndef OTLAB_TUI_PANEL_H
#define OTLAB_TUI_PANEL_H

#include <stdio.h>

#include "ot/ot.h"
#include "plot.h"

#define TUI_PANEL_DELAY 0.4        /* seconds of a run before the panel opens */
#define TUI_PANEL_FRAME 0.05       /* at most 20 redraws per second */
#define TUI_PANEL_LINE_EVERY 2.0   /* seconds between progress lines on stderr */

/*
 * Configure the panel once at start-up.
 *   enabled  0 for --no-panel: never open (progress lines still print)
 *   color    0 for --no-color / NO_COLOR: no colours in the panel
 */
void tui_panel_init(int enabled, int color);

/*
 * The progress hook: record the report, open or redraw the panel, read its
 * keys, or print a progress line.  Returns 1 when the user pressed c (the
 * caller cancels the job), else 0.
 */
int tui_panel_progress(const ot_progress *p);

/*
 * Open the panel now on the last state (ui.show, ui.watch).  hold = 1:
 * when the chunk ends, wait for q before giving the terminal back (ui.show
 * at the prompt).  Returns 1 when the panel is on the screen, 0 when it
 * cannot be (no terminal, --no-panel): the caller prints text instead.
 */
int tui_panel_show(int hold);

/* Close the panel (ui.hide, the end of ui.watch); nothing when closed. */
void tui_panel_hide(void);

/* Something is about to be printed: close the panel so it shows; it may
 * open again for the next kernel run, not for the current one (a progress
 * callback that prints must not make it flicker). */
void tui_panel_before_output(void);

/*
 * A chunk ended (the host calls this after each one): wait for q when a
 * held panel is open, close the panel, print the summary of a run that
 * printed progress lines, and forget q's "closed for this chunk".
 */
void tui_panel_chunk_end(void);

/* 1 when the panel is on the screen now. */
int tui_panel_is_open(void);

/*
 * Draw the panel's last state into g (what the screen would show: header,
 * curves, view, key help): the text form of ui.show without a terminal.
 * color 1 uses coloured glyphs (see plot.h).  Returns an OT_* status.
 */
int tui_panel_render(tui_grid *g, int color);

/* Give the terminal back and free everything (at exit). */
void tui_panel_shutdown(void);

#endif
