/* The process table: every process the supervisor starts goes through
 * proc_spawn(), and its owner is told when it exits.  Everything else that
 * exits (orphans reparented to us) is reaped and counted.
 *
 * Spawning compiles nothing: the confinement plan was built before, and the
 * child only applies it. */
#ifndef SANDBOX_INIT_PROC_H
#define SANDBOX_INIT_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_table;

/* Applies a confinement plan in the child: async-signal-safe, returns 0 or
 * -errno and names the failed step.  landlock's plan_apply() is one. */
typedef int (*proc_confine_fn)(const void *plan, const char **failed_step);

/* wait_status as from waitpid(); called from the loop, after the reap. */
typedef void (*proc_exit_handler)(void *context, pid_t pid, int wait_status);

struct proc_spawn_request {
	char *const *argv;                    /* argv[0] is looked up in the child's PATH */
	char *const *envp;                    /* NULL: the supervisor's own */
	proc_confine_fn confine;              /* NULL: not confined */
	const void *plan;
	int stdin_fd, stdout_fd, stderr_fd;   /* -1: the supervisor's own */
	bool take_terminal;                   /* make it the terminal's foreground group */
	proc_exit_handler on_exit;
	void *context;
};

/* Why a child never reached its program: the setup step and its errno. */
struct proc_spawn_failure {
	char step[48];
	int error;
};

struct proc_stats {
	uint64_t spawned;
	uint64_t reaped;          /* every reaped process, ours and orphans */
	uint64_t orphans_reaped;  /* reaped without an owner in the table */
};

int proc_table_new(struct proc_table **out);
void proc_table_free(struct proc_table *table);

/* Forks and execs.  The child runs in a process group of its own with only
 * fds 0-2.  Returns 0 once the program is running, or -errno with *failure
 * saying which step failed (the child has then been reaped already). */
int proc_spawn(struct proc_table *table, const struct proc_spawn_request *request, pid_t *pid,
	       struct proc_spawn_failure *failure);

/* Shell convention for a program that could not be run: 127 not found, 126 otherwise. */
int proc_exec_failure_status(int error);

/* Reaps at most budget exited children without blocking, calling owners'
 * handlers.  Returns how many were reaped; *more is set when the budget ran out
 * before waitpid() said there was nothing left.  *orphans counts the ones
 * without an owner. */
size_t proc_reap(struct proc_table *table, size_t budget, bool *more, size_t *orphans);

/* True while the supervisor has any child at all (ours or adopted). */
bool proc_has_children(void);

void proc_get_stats(const struct proc_table *table, struct proc_stats *out);

/* 128+N for death by signal N, the exit code otherwise. */
int proc_exit_code(int wait_status);

#endif
