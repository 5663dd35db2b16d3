#ifndef CPROTOBUFC_SHIM_H
#define CPROTOBUFC_SHIM_H
// System-library shim: Debian's libprotobuf-c-dev (pkg-config name "libprotobuf-c").
#include <protobuf-c/protobuf-c.h>
#endif
