/*
 * flow.h -- particle gradient flows of datasets (specs/flows.md).
 * (Being written; the module's public API goes here.)
 */
#ifndef OT_FLOW_H
#define OT_FLOW_H

#include "ot.h"

#endif
