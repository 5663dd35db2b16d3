#ifndef CZLIB_SHIM_H
#define CZLIB_SHIM_H
// System-library shim: zlib1g-dev (pkg-config name "zlib"), used for grpc-encoding: gzip.
#include <zlib.h>
#endif
