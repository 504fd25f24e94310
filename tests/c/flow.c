/* Tests of the flow core module. */
#include "test.h"
#include "flow.h"

int main(void) {
  return test_report();
}
