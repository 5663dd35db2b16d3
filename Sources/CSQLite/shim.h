#ifndef CSQLITE_SHIM_H
#define CSQLITE_SHIM_H
// System-library shim: Debian's libsqlite3-dev (pkg-config name "sqlite3").
#include <sqlite3.h>
#endif
