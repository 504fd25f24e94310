/*
 * flow.c -- particle gradient flows of datasets (specs/flows.md).
 */
#include "flow.h"
