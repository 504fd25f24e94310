/*
 * bounds.c -- certified mini-batch upper and lower bounds on OT (specs/bounds.md).
 */
#include "bounds.h"
