/* libcompute.so: compute() and other() in a shared library. */
#include "compute.h"
