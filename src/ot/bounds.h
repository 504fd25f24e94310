/*
 * bounds.h -- certified mini-batch upper and lower bounds on OT (specs/bounds.md).
 * (Being written; the module's public API goes here.)
 */
#ifndef OT_BOUNDS_H
#define OT_BOUNDS_H

#include "ot.h"

#endif
