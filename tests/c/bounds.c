/* Tests of the bounds core module. */
#include "test.h"
#include "bounds.h"

int main(void) {
  return test_report();
}
