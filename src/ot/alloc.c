/*
 * alloc.c -- counted allocation under a memory budget (see alloc.h).
 *
 * Core blocks carry a 16-byte header holding their size, so ot_free() can
 * uncount them; Lua's blocks need none because Lua passes the old size.
 */
#define _DEFAULT_SOURCE /* madvise's MADV_HUGEPAGE is a Linux extension */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloc.h"
#include "ot.h"

#define HEADER 16 /* keeps the payload 16-byte aligned */

static atomic_size_t mem_used;
static atomic_size_t mem_peak;
static atomic_size_t mem_limit;
static atomic_int limit_set;
static atomic_long fail_at;    /* 0: off; else fail when count >= fail_at */
static atomic_long fail_count;

/* MemAvailable from /proc/meminfo, else free physical pages; 0 if unknown. */
static size_t available_memory(void) {
  FILE *f = fopen("/proc/meminfo", "r");
  if (f) {
    char line[256];
    unsigned long long kb;
    while (fgets(line, sizeof line, f)) {
      if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
        fclose(f);
        return (size_t)kb * 1024u;
      }
    }
    fclose(f);
  }
  long pages = sysconf(_SC_AVPHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
  if (pages > 0 && psize > 0) return (size_t)pages * (size_t)psize;
  return 0;
}

static void ensure_limit(void) {
  if (atomic_load(&limit_set)) return;
  size_t avail = available_memory();
  size_t lim = avail / 4 * 3;
  int expected = 0;
  if (atomic_compare_exchange_strong(&limit_set, &expected, 1))
    atomic_store(&mem_limit, lim);
}

int ot_mem_size(size_t a, size_t b, size_t c, size_t *out) {
  size_t ab;
  if (a != 0 && b > SIZE_MAX / a) return OT_EOVERFLOW;
  ab = a * b;
  if (ab != 0 && c > SIZE_MAX / ab) return OT_EOVERFLOW;
  *out = ab * c;
  return OT_OK;
}

/* Count a new allocation of `bytes`; non-zero status if it must fail. */
static int reserve(size_t bytes) {
  ensure_limit();
  long at = atomic_load(&fail_at);
  long n = atomic_fetch_add(&fail_count, 1) + 1;
  if (at > 0 && n >= at) return OT_ENOMEM;
  size_t lim = atomic_load(&mem_limit);
  size_t used = atomic_fetch_add(&mem_used, bytes) + bytes;
  if (used < bytes || (lim && used > lim)) {
    atomic_fetch_sub(&mem_used, bytes);
    return OT_EBUDGET;
  }
  size_t peak = atomic_load(&mem_peak);
  while (used > peak && !atomic_compare_exchange_weak(&mem_peak, &peak, used)) {
  }
  return OT_OK;
}

static void unreserve(size_t bytes) { atomic_fetch_sub(&mem_used, bytes); }

int ot_mem_check(size_t bytes) {
  ensure_limit();
  size_t lim = atomic_load(&mem_limit), used = atomic_load(&mem_used);
  if (lim && (bytes > lim || used > lim - bytes)) return OT_EBUDGET;
  return OT_OK;
}

/*
 * Ask for transparent huge pages on the 2 MiB-aligned interior of a large
 * new block.  Large matrices then fault in 512 times fewer pages: a 128 MB
 * matrix is created in a fraction of the time (numpy does the same).  Only
 * advice: failures (no THP in this kernel) are ignored.
 */
static void advise_huge(void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
  enum { HUGE = 2u << 20 };
  if (bytes < 2 * (size_t)HUGE) return;
  uintptr_t lo = ((uintptr_t)p + HUGE - 1) & ~(uintptr_t)(HUGE - 1);
  uintptr_t hi = ((uintptr_t)p + bytes) & ~(uintptr_t)(HUGE - 1);
  if (hi > lo) madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

static int alloc_impl(size_t bytes, void *out, int zero) {
  void **res = out;
  *res = NULL;
  if (bytes > SIZE_MAX - HEADER) return OT_EOVERFLOW;
  int rc = reserve(bytes + HEADER);
  if (rc) return rc;
  unsigned char *p = zero ? calloc(1, bytes + HEADER) : malloc(bytes + HEADER);
  if (!p) {
    unreserve(bytes + HEADER);
    return OT_ENOMEM;
  }
  memcpy(p, &bytes, sizeof bytes);
  if (bytes >= ((size_t)4 << 20)) advise_huge(p, bytes + HEADER);
  *res = p + HEADER;
  return OT_OK;
}

int ot_malloc(size_t bytes, void *out) { return alloc_impl(bytes, out, 0); }
int ot_calloc(size_t bytes, void *out) { return alloc_impl(bytes, out, 1); }

int ot_alloc_doubles(size_t rows, size_t cols, double **out) {
  size_t bytes;
  *out = NULL;
  if (ot_mem_size(rows, cols, sizeof(double), &bytes)) return OT_EOVERFLOW;
  return ot_malloc(bytes, out);
}

void ot_free(void *p) {
  if (!p) return;
  unsigned char *base = (unsigned char *)p - HEADER;
  size_t bytes;
  memcpy(&bytes, base, sizeof bytes);
  unreserve(bytes + HEADER);
  free(base);
}

void *ot_mem_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  if (!ptr) osize = 0; /* Lua passes a type tag in osize for new blocks */
  if (nsize == 0) {
    free(ptr);
    unreserve(osize);
    return NULL;
  }
  if (nsize > osize) {
    if (reserve(nsize - osize)) return NULL;
  }
  void *q = realloc(ptr, nsize);
  if (!q) {
    if (nsize > osize) unreserve(nsize - osize);
    return NULL;
  }
  if (nsize > osize && nsize - osize >= ((size_t)4 << 20)) advise_huge(q, nsize);
  if (nsize < osize) unreserve(osize - nsize);
  return q;
}

void ot_mem_set_limit(size_t bytes) {
  atomic_store(&limit_set, 1);
  atomic_store(&mem_limit, bytes);
}

size_t ot_mem_limit(void) {
  ensure_limit();
  return atomic_load(&mem_limit);
}

size_t ot_mem_used(void) { return atomic_load(&mem_used); }
size_t ot_mem_peak(void) { return atomic_load(&mem_peak); }
void ot_mem_reset_peak(void) { atomic_store(&mem_peak, atomic_load(&mem_used)); }

void ot_mem_fail_after(long n) {
  atomic_store(&fail_count, 0);
  atomic_store(&fail_at, n > 0 ? n : 0);
}

long ot_mem_fail_count(void) { return atomic_load(&fail_count); }

void ot_mem_format(size_t bytes, char *buf, size_t len) {
  static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = (double)bytes;
  int u = 0;
  while (v >= 1024.0 && u < 6) {
    v /= 1024.0;
    u++;
  }
  if (u == 0)
    snprintf(buf, len, "%zu B", bytes);
  else
    snprintf(buf, len, "%.1f %s", v, unit[u]);
}

int ot_mem_parse(const char *text, size_t *out) {
  /* Digits with an optional '.' fraction, read by hand: strtod would follow
   * LC_NUMERIC and refuse "1.5G" under a decimal-comma locale. */
  const char *end = text;
  double v = 0.0, scale = 1.0, mult = 1.0;
  int digits = 0;
  for (; *end >= '0' && *end <= '9'; end++, digits++) v = v * 10.0 + (*end - '0');
  if (*end == '.')
    for (end++; *end >= '0' && *end <= '9'; end++, digits++) v += (*end - '0') * (scale /= 10.0);
  if (digits == 0) return OT_EINVAL;
  if ((*end == 'e' || *end == 'E') && end[1] >= '0' && end[1] <= '9') {
    int ex = 0;
    for (end++; *end >= '0' && *end <= '9'; end++) ex = ex < 400 ? ex * 10 + (*end - '0') : ex;
    while (ex-- > 0 && v < 1e300) v *= 10.0;
  }
  switch (*end) {
    case 'k': case 'K': mult = 1024.0; end++; break;
    case 'm': case 'M': mult = 1024.0 * 1024; end++; break;
    case 'g': case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
    case 't': case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
    default: break;
  }
  if (mult > 1.0 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)) end += strlen(end);
  if (mult == 1.0 && strcmp(end, "B") == 0) end++;
  if (*end != '\0') return OT_EINVAL;
  v *= mult;
  if (v >= 18446744073709551615.0) return OT_EOVERFLOW;
  *out = (size_t)v;
  return OT_OK;
}
