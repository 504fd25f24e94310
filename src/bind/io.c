/*
 * io.c -- ot.load and ot.save (to be written).
 */
#include "bind.h"

void bind_open_io(lua_State *L) { (void)L; }
