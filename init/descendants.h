/* Finding our descendants when we are not PID 1 of our own namespace, where
 * kill(-1) would reach far more than our own processes. */
#ifndef SANDBOX_INIT_DESCENDANTS_H
#define SANDBOX_INIT_DESCENDANTS_H

#include <stddef.h>
#include <sys/types.h>

struct process_link {
	pid_t pid;
	pid_t parent;
};

/* Parses the parent pid out of a /proc/PID/stat line; 0 or -EINVAL.  The
 * command name may itself contain ") " and spaces, so it is skipped by the
 * last ')' rather than by counting fields. */
int descendants_parse_stat(const char *stat_line, pid_t *parent);

/* Moves every descendant of root in links[0..count) to the front, in no
 * particular order, and returns how many there are. */
size_t descendants_select(struct process_link *links, size_t count, pid_t root);

/* Signals every descendant of the calling process; returns how many were found. */
int descendants_signal_all(int signo);

#endif
