/* What every mode of the supervisor shares: it owns the signals (through a
 * signalfd in the loop), the process table and the reaping, and knows how to
 * reach every remaining descendant at shutdown. */
#ifndef SANDBOX_INIT_SUPERVISOR_H
#define SANDBOX_INIT_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/signalfd.h>

#include "init/loop.h"
#include "init/proc.h"

struct supervisor;

/* Called for every signal but SIGCHLD, which the supervisor handles itself. */
typedef void (*supervisor_signal_handler)(void *context, const struct signalfd_siginfo *info);
/* Called after each round of reaping, so a mode can tell whether it is done. */
typedef void (*supervisor_reaped_handler)(void *context);
/* Orphans (processes nobody spawned through the table) reaped in one round. */
typedef void (*supervisor_orphans_handler)(void *context, uint64_t count, uint64_t total);

struct supervisor {
	struct loop *loop;
	struct proc_table *processes;
	int signal_fd;
	bool is_pid1;
	bool subreaper;
	struct loop_timer reap_again;
	supervisor_signal_handler on_signal;
	supervisor_reaped_handler on_reaped;
	void *context;
	supervisor_orphans_handler on_orphans;  /* with its own context: events outlive modes */
	void *orphans_context;
};

/* Blocks signals, opens the signalfd, makes us non-dumpable and (when not PID
 * 1, or when asked) a child subreaper, and marks inherited fds close-on-exec.
 * Call before the first fork. */
int supervisor_start(struct supervisor *supervisor, bool force_subreaper);
void supervisor_stop(struct supervisor *supervisor);

/* Sends signo to every remaining descendant.  Returns how many were signalled
 * (0 when none is left) or -errno. */
int supervisor_signal_descendants(const struct supervisor *supervisor, int signo);

const char *supervisor_signal_name(int signo);

#endif
