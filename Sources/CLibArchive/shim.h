#ifndef SLUICE_CLIBARCHIVE_SHIM_H
#define SLUICE_CLIBARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>
#endif
