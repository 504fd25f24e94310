/*
 * alloc.h -- the one allocation chokepoint of otlab.
 *
 * Every large buffer of the core, and every block of the Lua state (through
 * ot_mem_lua_alloc), is counted here against one memory budget.  A request
 * over the budget fails with OT_EBUDGET *before* anything is allocated, so
 * a too-large problem is a clear error and never an OOM kill (under Linux
 * overcommit a NULL check alone is not enough).
 *
 * The budget defaults to 3/4 of the memory available when the library is
 * first used (MemAvailable in /proc/meminfo, falling back to physical pages).
 * Sizes are computed with ot_mem_size(), which checks for overflow.
 *
 * For tests, ot_mem_fail_after(n) makes the n-th and every later counted
 * allocation fail, as Lua's own test allocator does.
 *
 * Counters are atomic: kernels may allocate from OpenMP threads.
 */
#ifndef OT_ALLOC_H
#define OT_ALLOC_H

#include <stddef.h>

/* *out = a * b * c bytes; OT_EOVERFLOW when the product does not fit. */
int ot_mem_size(size_t a, size_t b, size_t c, size_t *out);

/*
 * Allocate `bytes` (any size, 0 allowed) into *out.  Returns OT_OK,
 * OT_EBUDGET (over budget: nothing allocated) or OT_ENOMEM.  The block is
 * released with ot_free().  ot_calloc zeroes the block.
 */
int ot_malloc(size_t bytes, void *out);
int ot_calloc(size_t bytes, void *out);
/* Allocate rows*cols doubles, overflow-checked. */
int ot_alloc_doubles(size_t rows, size_t cols, double **out);
void ot_free(void *p);

/* OT_OK when `bytes` more would fit in the budget now (allocates nothing). */
int ot_mem_check(size_t bytes);

/* Budget in bytes (0 = no limit); the default is set at first use. */
void ot_mem_set_limit(size_t bytes);
size_t ot_mem_limit(void);
size_t ot_mem_used(void);   /* live bytes counted now */
size_t ot_mem_peak(void);   /* highest ot_mem_used() seen */
void ot_mem_reset_peak(void);

/*
 * Fault injection: with n > 0 the n-th counted allocation from now and every
 * later one fail with OT_ENOMEM; n = 0 turns injection off.
 * ot_mem_fail_count() is the number of counted allocations since the call.
 */
void ot_mem_fail_after(long n);
long ot_mem_fail_count(void);

/*
 * Allocator with lua_Alloc's signature (the core does not include lua.h):
 * counts Lua's blocks against the same budget.  Growing a block over the
 * budget returns NULL, which Lua reports as "not enough memory".
 */
void *ot_mem_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* Write "12.5 MiB"-style text for a byte count into buf (at least 16 chars). */
void ot_mem_format(size_t bytes, char *buf, size_t len);

/* Parse "512M", "2G", "1.5GiB", "100000" into bytes; OT_EINVAL if malformed. */
int ot_mem_parse(const char *text, size_t *out);

#endif
