/*
 * bind.h -- what the Lua bindings share: the matrix userdata, argument
 * helpers, option tables, status-to-error conversion, the random generator
 * and the progress sink.
 *
 * Every binding validates all of its arguments before doing any work and
 * raises errors only after core calls have returned (never longjmp through
 * core frames).  Messages name the function, the argument and the reason:
 *   ot.sinkhorn: bad argument #4 'reg' (must be > 0, got 0)
 */
#ifndef OT_BIND_H
#define OT_BIND_H

#include <lauxlib.h>
#include <lua.h>
#include <signal.h>

#include "ot/mat.h"
#include "ot/ot.h"
#include "ot/rand.h"

#define BIND_MAT "ot.Mat"

/*
 * The matrix userdata.  A matrix created by bind_newmat stores its doubles
 * inline, right after this header in the same userdata, so Lua's GC sees its
 * real size.  A view (bind_newview) points into another matrix's storage and
 * keeps that parent alive through its first user value.
 */
typedef struct bmat {
  ot_mat m;
  int vec;   /* 1: a 1-D vector (stored n x 1, contiguous); prints as one row */
  int view;  /* 1: data belongs to the parent in user value 1 */
} bmat;

/*
 * Push a new rows x cols matrix (contents zeroed).  Checks the size for
 * overflow and against the memory budget first and raises
 * "<fname>: cannot allocate a RxC matrix (needs X, budget has Y free)".
 */
bmat *bind_newmat(lua_State *L, size_t rows, size_t cols, const char *fname);
/* Same, for a 1-D vector of length n. */
bmat *bind_newvec(lua_State *L, size_t n, const char *fname);
/* Push a view `v` into the matrix at stack index parent (kept alive). */
bmat *bind_newview(lua_State *L, int parent, ot_mat v, int vec);
/* The matrix at arg, or a "bad argument" error naming it. */
bmat *bind_checkmat(lua_State *L, int arg, const char *name);
/* NULL when the value at idx is not a matrix. */
bmat *bind_testmat(lua_State *L, int idx);
/*
 * The matrix at arg; a Lua table of numbers (a vector) or of rows (a
 * matrix) is converted into a new matrix that replaces it on the stack.
 */
bmat *bind_tomat(lua_State *L, int arg, const char *name);
/*
 * The vector at arg, as a contiguous vector (vec = 1, n x 1, ld 1): a
 * vector is returned as is; a 1 x n or n x 1 matrix (any view) or a flat
 * table of numbers is converted (a view when the elements are contiguous,
 * else a copy) and the result replaces the value at arg on the stack.  Any
 * other shape raises "bad argument ... (vector expected, got a 3x4 matrix)".
 * For weight vectors, labels and other 1-D inputs.
 */
bmat *bind_checkvector(lua_State *L, int arg, const char *name);

/*
 * OT weights at arg: a vector, a 1 x n or n x 1 matrix, a table of numbers,
 * or nil / {} for uniform weights 1/n.  Checks the length is n and every
 * entry finite and >= 0 with a positive sum ("a[17] = -0.2 < 0", 1-based).
 * Returns a contiguous vector that replaces the value at arg (arg must be an
 * existing stack slot; pass lua_settop first when it may be absent) and
 * stores the sum in *sum.
 */
bmat *bind_checkweights(lua_State *L, int arg, const char *name, size_t n, double *sum);
/*
 * Balanced OT: the sums sa of a and sb of b must agree to 1e-9 relative;
 * otherwise an error naming argument arg_b that suggests normalize = true
 * (bindings offering that option rescale copies of a and b themselves).
 */
void bind_checkbalanced(lua_State *L, int arg_b, const char *name_b, double sa, double sb);

/*
 * Argument errors.  bind_argerror(L, arg, "name", "must be > 0, got %g", v)
 * raises "<function>: bad argument #arg 'name' (reason)"; fmt is printf-style.
 * The function name is looked up in the ot table ("ot.zeros", "ot.data.x").
 */
int bind_argerror(lua_State *L, int arg, const char *name, const char *fmt, ...);
/* Checked conversions that name the argument. */
double bind_checknumber(lua_State *L, int arg, const char *name);
lua_Integer bind_checkinteger(lua_State *L, int arg, const char *name);
/* A non-negative integer that fits size_t (and a Lua integer). */
size_t bind_checksize(lua_State *L, int arg, const char *name);

/*
 * Options tables.  bind_checkopts(L, arg, keys) raises an error for a
 * non-table or any key not in the NULL-terminated list `keys` (typos at a
 * prompt must not be silently ignored).  Absent or nil arg is allowed.
 * The getters read one field, with a default when absent.
 */
void bind_checkopts(lua_State *L, int arg, const char *const keys[]);
double bind_optfield_number(lua_State *L, int arg, const char *key, double def);
lua_Integer bind_optfield_integer(lua_State *L, int arg, const char *key, lua_Integer def);
int bind_optfield_boolean(lua_State *L, int arg, const char *key, int def);
const char *bind_optfield_string(lua_State *L, int arg, const char *key, const char *def);

/* Raise "<fname>: <ot_strerror(rc)>" when rc != OT_OK.  Call only after
 * the core has returned and its memory is released. */
void bind_check_status(lua_State *L, int rc, const char *fname);

/* The one random generator of the session (ot.seed reseeds it). */
ot_rng *bind_rng(void);

/*
 * Interrupts.  The REPL's SIGINT handler sets bind_interrupted; kernels see
 * it through bind_progress, which returns non-zero to cancel.  `ud` is a
 * bind_progress_ud whose `L` runs an optional Lua callback.
 */
extern volatile sig_atomic_t bind_interrupted;
typedef struct bind_progress_ud {
  lua_State *L;
  int callback;      /* stack index of a Lua function, or 0 */
  double last_call;  /* ot_clock() of the last forwarded report */
  int lua_error;     /* 1 when the callback raised; its message is on the stack */
} bind_progress_ud;
int bind_progress(void *ud, const ot_progress *p);

/* Module openers: each adds its functions to the table on top of the stack. */
int luaopen_ot(lua_State *L);
void bind_open_mat(lua_State *L);
void bind_open_rand(lua_State *L);
void bind_open_io(lua_State *L);
void bind_open_sys(lua_State *L);
void bind_open_cost(lua_State *L);
void bind_open_emd(lua_State *L);
void bind_open_sinkhorn(lua_State *L);
void bind_open_gauss(lua_State *L);
void bind_open_sliced(lua_State *L);
void bind_open_ui(lua_State *L); /* the sub-table ot.ui (the global `ui`) */
void bind_open_bounds(lua_State *L); /* ot.bounds */
void bind_open_otdd(lua_State *L);   /* ot.otdd */
void bind_open_flow(lua_State *L);   /* ot.flow */
void bind_open_nn(lua_State *L);     /* ot.nn */
void bind_open_mpi(lua_State *L);    /* ot.mpi (starts MPI under a launcher) */

#endif
