#ifndef CNGHTTP2_SHIM_H
#define CNGHTTP2_SHIM_H
// System-library shim: Debian's libnghttp2-dev (pkg-config name "libnghttp2").
#include <nghttp2/nghttp2.h>
#endif
