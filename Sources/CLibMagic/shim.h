#ifndef SLUICE_CLIBMAGIC_SHIM_H
#define SLUICE_CLIBMAGIC_SHIM_H
#include <magic.h>
#endif
