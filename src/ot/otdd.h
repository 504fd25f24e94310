/*
 * otdd.h -- the optimal transport dataset distance (specs/otdd.md).
 * (Being written; the module's public API goes here.)
 */
#ifndef OT_OTDD_H
#define OT_OTDD_H

#include "ot.h"

#endif
