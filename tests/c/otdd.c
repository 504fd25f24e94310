/* Tests of the otdd core module. */
#include "test.h"
#include "otdd.h"

int main(void) {
  return test_report();
}
