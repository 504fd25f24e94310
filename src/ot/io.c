/*
 * io.c -- readers and writers for .npy, CSV and MNIST IDX (to be written).
 */
#include "ot.h"
