/* Seeded random property tests of the OT core (specs/reliability.md). */
#include "test.h"

int main(void) {
  return test_report();
}
