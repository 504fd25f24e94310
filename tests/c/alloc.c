/*
 * tests/c/alloc.c -- the allocation chokepoint: overflow-checked sizes,
 * accounting, the budget, fault injection and the Lua-compatible allocator.
 */
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "ot.h"
#include "test.h"

int main(void) {
  size_t n;
  void *p = NULL, *q = NULL;

  CHECK("3*4*8", ot_mem_size(3, 4, 8, &n) == OT_OK && n == 96);
  CHECK("zero factor", ot_mem_size(0, SIZE_MAX, 8, &n) == OT_OK && n == 0);
  CHECK("2^40 x 2^40 doubles overflows", ot_mem_size((size_t)1 << 40, (size_t)1 << 40, 8, &n) == OT_EOVERFLOW);
  CHECK("SIZE_MAX * 2 overflows", ot_mem_size(SIZE_MAX, 2, 1, &n) == OT_EOVERFLOW);

  /* Accounting: live bytes go up by at least the payload and back to the start. */
  size_t base = ot_mem_used();
  CHECK("malloc ok", ot_malloc(1000, &p) == OT_OK && p != NULL);
  CHECK("used grows", ot_mem_used() >= base + 1000);
  memset(p, 1, 1000);
  CHECK("calloc zeroes", ot_calloc(64, &q) == OT_OK && ((unsigned char *)q)[63] == 0);
  ot_free(p);
  ot_free(q);
  ot_free(NULL);
  CHECK("used returns to base", ot_mem_used() == base);
  CHECK("peak saw the blocks", ot_mem_peak() >= base + 1064);

  /* The budget refuses before allocating. */
  ot_mem_set_limit(base + 4096);
  CHECK("limit reads back", ot_mem_limit() == base + 4096);
  CHECK("check under budget", ot_mem_check(1000) == OT_OK);
  CHECK("check over budget", ot_mem_check(10000) == OT_EBUDGET);
  p = (void *)1;
  CHECK("malloc over budget", ot_malloc(10000, &p) == OT_EBUDGET && p == NULL);
  CHECK("nothing counted after refusal", ot_mem_used() == base);
  double *d = NULL;
  CHECK("doubles overflow", ot_alloc_doubles((size_t)1 << 40, (size_t)1 << 40, &d) == OT_EOVERFLOW);
  CHECK("huge malloc overflow", ot_malloc(SIZE_MAX - 3, &p) == OT_EOVERFLOW);
  ot_mem_set_limit(0);
  CHECK("limit 0 = unlimited", ot_mem_check((size_t)1 << 50) == OT_OK);

  /* Fault injection: the 3rd and every later allocation fail. */
  ot_mem_fail_after(3);
  void *a = NULL, *b = NULL, *c = NULL, *e = NULL;
  CHECK("1st succeeds", ot_malloc(8, &a) == OT_OK);
  CHECK("2nd succeeds", ot_malloc(8, &b) == OT_OK);
  CHECK("3rd fails", ot_malloc(8, &c) == OT_ENOMEM && c == NULL);
  CHECK("4th fails too", ot_malloc(8, &e) == OT_ENOMEM);
  CHECK("count of attempts", ot_mem_fail_count() == 4);
  ot_mem_fail_after(0);
  ot_free(a);
  ot_free(b);
  CHECK("injection off", ot_malloc(8, &a) == OT_OK);
  ot_free(a);
  CHECK("balanced after injection", ot_mem_used() == base);

  /* The Lua allocator: grow, shrink, free, with budget and injection. */
  void *l = ot_mem_lua_alloc(NULL, NULL, 5 /* type tag, not a size */, 100);
  CHECK("lua alloc", l != NULL && ot_mem_used() == base + 100);
  l = ot_mem_lua_alloc(NULL, l, 100, 300);
  CHECK("lua grow", l != NULL && ot_mem_used() == base + 300);
  l = ot_mem_lua_alloc(NULL, l, 300, 50);
  CHECK("lua shrink", l != NULL && ot_mem_used() == base + 50);
  ot_mem_set_limit(base + 1000);
  CHECK("lua grow over budget is NULL", ot_mem_lua_alloc(NULL, l, 50, 5000) == NULL);
  CHECK("failed grow keeps count", ot_mem_used() == base + 50);
  ot_mem_fail_after(1);
  CHECK("lua grow under injection is NULL", ot_mem_lua_alloc(NULL, l, 50, 60) == NULL);
  ot_mem_fail_after(0);
  ot_mem_set_limit(0);
  CHECK("lua free", ot_mem_lua_alloc(NULL, l, 50, 0) == NULL && ot_mem_used() == base);

  /* Sizes as text and back. */
  char buf[32];
  ot_mem_format(512, buf, sizeof buf);
  CHECK("format bytes", strcmp(buf, "512 B") == 0);
  ot_mem_format((size_t)3 << 30, buf, sizeof buf);
  CHECK("format GiB", strcmp(buf, "3.0 GiB") == 0);
  CHECK("parse 512M", ot_mem_parse("512M", &n) == OT_OK && n == (size_t)512 << 20);
  CHECK("parse 2GiB", ot_mem_parse("2GiB", &n) == OT_OK && n == (size_t)2 << 30);
  CHECK("parse 1.5G", ot_mem_parse("1.5G", &n) == OT_OK && n == (size_t)3 << 29);
  CHECK("parse bytes", ot_mem_parse("100000", &n) == OT_OK && n == 100000);
  CHECK("parse junk", ot_mem_parse("12Q", &n) == OT_EINVAL);
  CHECK("parse negative", ot_mem_parse("-1G", &n) == OT_EINVAL);
  CHECK("parse empty", ot_mem_parse("", &n) == OT_EINVAL);
  CHECK("parse huge", ot_mem_parse("1e30", &n) == OT_EOVERFLOW);
  CHECK("strerror covers codes", strcmp(ot_strerror(OT_EBUDGET), "over the memory budget") == 0 &&
                                     strcmp(ot_strerror(999), "unknown status") == 0);
  return test_report();
}
