/*
 * nn.c -- factorized neural layers: spectral init, Frobenius decay (specs/factorized.md).
 */
#include "nn.h"
