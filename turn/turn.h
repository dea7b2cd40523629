/* Chat turns: authenticate, validate, run the turn executor confined, and
 * stream its NDJSON back.  This header is turn/'s interface; it knows nothing
 * of HTTP framing (health/ does) and exposes nothing of JWTs.
 *
 * One turn at a time.  Everything runs on the supervisor's loop: the executor's
 * pipes and the turn timer are loop fds and timers, so a turn streaming for an
 * hour never delays reaping, signals or health answers. */
#ifndef SANDBOX_INIT_TURN_H
#define SANDBOX_INIT_TURN_H

#include <stdbool.h>
#include <stddef.h>

#include "init/loop.h"
#include "init/proc.h"

#define TURN_MAX_BODY (1024 * 1024)
#define TURN_UI_MODE_COUNT 3

struct turn_engine;
struct turn;

/* Told what happened, for metrics and events.  outcome: "ok", "error" (the
 * executor's own done said ok:false), "timeout", "crashed", "garbage",
 * "cancelled", "aborted". */
struct turn_observer {
	void (*auth_failed)(void *context, const char *code, const char *client, const char *reason);
	void (*turn_started)(void *context, const char *ui_mode, const char *client, int pid);
	void (*turn_finished)(void *context, const char *ui_mode, const char *outcome, double seconds,
			      size_t bytes, int pid, int wait_status);
	void *context;
};

struct turn_engine_options {
	struct loop *loop;
	struct proc_table *processes;
	char *const *executor_argv;
	/* Per ui_mode, in turn_ui_mode order; a NULL plan runs unconfined. */
	proc_confine_fn confine;
	const void *plans[TURN_UI_MODE_COUNT];
	char *const *environments[TURN_UI_MODE_COUNT];
	const char *auth_token;              /* the session-bound token */
	const char *jwt_algorithm;           /* NULL with skip_workload_token */
	const unsigned char *jwt_key;
	size_t jwt_key_length;
	bool skip_workload_token;            /* --insecure-skip-workload-token */
	const char *session_id, *tenant_id, *knowledge_graph_id, *user_id, *workspace;
	unsigned timeout_seconds;
	/* The ui_mode of a request that names none (serve --mode); NULL:
	 * initial-schema-design, as the contract says. */
	const char *default_ui_mode;
	/* Why a mode's plan could not be compiled under hard_requirement: its
	 * turns are refused with POLICY_NOT_ENFORCEABLE.  NULL: the mode is fine. */
	const char *unenforceable[TURN_UI_MODE_COUNT];
	struct turn_observer observer;
};

/* Why a turn did not start: the HTTP status and the contract's error code. */
struct turn_refusal {
	unsigned status;
	const char *code;
	char message[256];
};

/* Where a running turn's output goes.  write() gets whole NDJSON lines and
 * returns false when the reader is full, pausing the executor's stdout until
 * turn_output_drained(); finished() comes once, after the done line. */
struct turn_output {
	bool (*write)(void *context, const char *data, size_t length);
	void (*finished)(void *context);
	void *context;
};

/* The ui_mode names, in plan order: "initial-schema-design", ... */
const char *turn_ui_mode_name_at(size_t index);

/* Returns 0, or -EINVAL with one line in error (bad key, bad executor). */
int turn_engine_new(const struct turn_engine_options *options, struct turn_engine **out,
		    char *error, size_t error_size);
void turn_engine_free(struct turn_engine *engine);

/* From the headers alone, before any body is read. */
bool turn_engine_authorized(const struct turn_engine *engine, const char *header, size_t length);
bool turn_engine_busy(const struct turn_engine *engine);

/* Validates the body and the workload JWT and spawns the executor.  0 with
 * *turn set, or -1 with the refusal to answer. */
int turn_engine_start(struct turn_engine *engine, const char *body, size_t length, const char *client,
		      const struct turn_output *output, struct turn **turn, struct turn_refusal *refusal);

/* The reader went away: the executor's process group is killed and output
 * stops; the turn is freed once its process is reaped. */
void turn_cancel(struct turn *turn);

/* The reader has room again after write() said it was full. */
void turn_output_drained(struct turn *turn);

/* Shutdown: the running turn, if any, is killed and gets its done line. */
void turn_engine_abort(struct turn_engine *engine, const char *reason);

#endif
