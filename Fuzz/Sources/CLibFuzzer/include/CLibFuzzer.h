#ifndef SLUICE_FUZZ_CLIBFUZZER_H
#define SLUICE_FUZZ_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (in libclang_rt.fuzzer, linked by -sanitize=fuzzer): parses the flags and runs
/// `callback` on every input, exactly as libFuzzer's own main() does.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
