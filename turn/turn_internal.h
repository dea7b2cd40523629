/* Shared between the engine (validation, authentication) and the run (the
 * executor's lifecycle).  Internal to turn/. */
#ifndef SANDBOX_INIT_TURN_INTERNAL_H
#define SANDBOX_INIT_TURN_INTERNAL_H

#include <stdint.h>

#include "turn/lines.h"
#include "turn/request.h"
#include "turn/turn.h"

struct turn_engine {
	struct turn_engine_options options;
	struct jwt_verifier *verifier;   /* NULL with skip_workload_token */
	struct replay_cache *replays;
	struct turn *current;            /* the one turn, or NULL */
	enum turn_ui_mode default_ui_mode;
};

struct turn {
	struct turn_engine *engine;
	enum turn_ui_mode ui_mode;
	pid_t pid;
	int stdin_fd, stdout_fd, stderr_fd;
	char *input;                     /* the executor's stdin: holds the token, wiped when sent */
	size_t input_length, input_sent;
	struct line_buffer stdout_lines, stderr_lines;
	struct turn_output output;
	struct loop_timer timeout;
	uint64_t started_ms;
	size_t bytes_relayed;
	const char *outcome;
	bool done_relayed;               /* exactly one done line has gone to the reader */
	bool output_paused;
	bool cancelled;
	bool exited;
	int wait_status;
};

/* Spawns the executor for a validated request; 0, or -1 with the refusal. */
int turn_run_start(struct turn_engine *engine, const struct turn_request *request, const char *client,
		   const struct turn_output *output, struct turn **turn, struct turn_refusal *refusal);

#endif
