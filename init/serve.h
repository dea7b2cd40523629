/* Serve mode: the sticky session's HTTP surface on the PID-1 loop. */
#ifndef SANDBOX_INIT_SERVE_H
#define SANDBOX_INIT_SERVE_H

#include "init/config.h"

/* Runs until SIGTERM/SIGINT; returns the exit status (0 after a clean
 * shutdown, 2 for bad configuration). */
int serve_run(const struct config *config);

#endif
