#ifndef SLUICE_CSQLITE3_SHIM_H
#define SLUICE_CSQLITE3_SHIM_H
#include <sqlite3.h>
#endif
