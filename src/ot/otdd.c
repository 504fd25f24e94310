/*
 * otdd.c -- the optimal transport dataset distance (specs/otdd.md).
 */
#include "otdd.h"
