/*
 * cost.h (bindings) -- point-cloud argument checks shared by the bindings
 * that take samples: ot.dist, ot.barycentric_projection, ot.gaussian.*,
 * ot.sliced_wasserstein_distance, and of cost matrices for the solvers.
 * Defined in src/bind/cost.c.
 */
#ifndef OT_BIND_COST_H
#define OT_BIND_COST_H

#include "bind.h"

/*
 * The points at arg (a matrix, one point per row, or a Lua table converted
 * by bind_tomat; a vector of n values is n points in 1-D): non-empty
 * (rows > 0 and cols > 0) and finite, else a "bad argument" error naming the
 * first bad entry ("X[3,2] = nan is not finite", 1-based).
 */
bmat *bind_checkpoints(lua_State *L, int arg, const char *name);

/* Error naming arg unless Y has as many columns as X (the other argument,
 * named xname). */
void bind_checksamedim(lua_State *L, int arg, const char *name, const bmat *Y,
                       const char *xname, const bmat *X);

/*
 * The cost matrix M at arg (a matrix, or a Lua table of rows): non-empty and
 * finite, else a "bad argument" error naming the first bad entry
 * ("M[3,2] = nan is not finite", 1-based).  Shapes against the weights are
 * the caller's to check.
 */
bmat *bind_checkcosts(lua_State *L, int arg);

#endif
