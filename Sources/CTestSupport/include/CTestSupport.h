#ifndef SLUICE_C_TEST_SUPPORT_H
#define SLUICE_C_TEST_SUPPORT_H
#include <spawn.h>

/// pipe2(O_CLOEXEC) and posix_spawn_file_actions_addclosefrom_np(3), which glibc declares only under
/// _GNU_SOURCE (not visible through Swift's Glibc module). For the tests' process launcher.
int sluice_pipe_cloexec(int fds[2]);
int sluice_spawn_close_from(posix_spawn_file_actions_t *actions, int from);

#endif
