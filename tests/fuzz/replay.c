/*
 * replay.c -- the fuzz corpora as a regression test, without clang.
 *
 * Every file of tests/fuzz/corpus/<target>/ and tests/fuzz/crashes/ goes
 * to all three parsers through the same checks the fuzz targets run
 * (harness.c): a documented status, a non-empty message naming the format
 * on error, a consistent shape, every value readable, the writer round
 * trip, and no live bytes left.  Run in the normal, the sanitizer and the
 * valgrind builds, so a seed that once crashed stays fixed.
 */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fuzz.h"
#include "io.h"
#include "test.h"

#ifndef OTLAB_FUZZ_DIR
#error "OTLAB_FUZZ_DIR must name tests/fuzz"
#endif

/* Read a whole file with stdio into a block of exactly its size (no spare
 * byte, so ASan and valgrind see a one-byte over-read); NULL on failure. */
static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  unsigned char *b = NULL;
  long n;
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
    b = malloc(n ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
      free(b);
      b = NULL;
    }
    *len = (size_t)n;
  }
  fclose(f);
  return b;
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Feed every regular file of dir to the three parsers; returns the number
 * of files (-1 when dir cannot be opened). */
static long replay_dir(const char *dir) {
  DIR *dp = opendir(dir);
  struct dirent *e;
  char **names = NULL;
  size_t n = 0, cap = 0;
  if (!dp) return -1;
  while ((e = readdir(dp))) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      char **nn = realloc(names, cap * sizeof *names);
      if (!nn) break;
      names = nn;
    }
    names[n] = strdup(e->d_name);
    if (names[n]) n++;
  }
  closedir(dp);
  if (n) qsort(names, n, sizeof *names, name_cmp); /* a stable order for the log */
  for (size_t i = 0; i < n; i++) {
    char path[4096], why[512];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    unsigned char *buf = slurp(path, &len);
    CHECK("corpus file readable", buf != NULL);
    for (int t = 0; buf && t < FUZZ_NTARGETS; t++) {
      int bad = fuzz_one(t, buf, len, why, sizeof why);
      if (bad) printf("%s as %s: %s\n", path, fuzz_target_name(t), why);
      CHECK("input handled by the contract", !bad);
    }
    free(buf);
    free(names[i]);
  }
  free(names);
  return (long)n;
}

int main(void) {
  static const char *const corpora[] = {"corpus/npy", "corpus/csv", "corpus/idx"};
  char dir[4096];
  long total = 0;
  fuzz_setup();
  for (size_t i = 0; i < sizeof corpora / sizeof corpora[0]; i++) {
    snprintf(dir, sizeof dir, "%s/%s", OTLAB_FUZZ_DIR, corpora[i]);
    long n = replay_dir(dir);
    printf("%s: %ld files\n", corpora[i], n);
    CHECK("corpus directory present with seeds", n >= 10);
    total += n > 0 ? n : 0;
  }
  snprintf(dir, sizeof dir, "%s/crashes", OTLAB_FUZZ_DIR);
  long n = replay_dir(dir); /* may be absent or empty */
  printf("crashes: %ld files\n", n > 0 ? n : 0);
  total += n > 0 ? n : 0;
  printf("%ld inputs replayed through %d parsers\n", total, FUZZ_NTARGETS);
  CHECK("no live bytes at the end", ot_mem_used() == 0);
  return test_report();
}
