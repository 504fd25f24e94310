/*
 * nn.h -- factorized neural layers: spectral init, Frobenius decay (specs/factorized.md).
 * (Being written; the module's public API goes here.)
 */
#ifndef OT_NN_H
#define OT_NN_H

#include "ot.h"

#endif
