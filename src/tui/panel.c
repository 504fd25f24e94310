/*
 * panel.c -- the live ncurses panel: the only code that includes curses.h.
 */
#include "panel.h"
