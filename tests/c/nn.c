/* Tests of the nn core module. */
#include "test.h"
#include "nn.h"

int main(void) {
  return test_report();
}
