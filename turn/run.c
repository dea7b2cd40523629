/* One turn's executor: spawned confined in its own process group, fed its
 * request on stdin, its stdout relayed line by line, its stderr logged, and
 * its end always marked by exactly one done line. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init/log.h"
#include "turn/turn_internal.h"

#define STDERR_LINE_LIMIT (16 * 1024)
#define READ_CHUNK 65536

static struct loop *turn_loop(const struct turn *turn)
{
	return turn->engine->options.loop;
}

static void close_fd(struct turn *turn, int *fd)
{
	if (*fd < 0)
		return;
	loop_unwatch_fd(turn_loop(turn), *fd);
	close(*fd);
	*fd = -1;
}

static void wipe_input(struct turn *turn)
{
	if (!turn->input)
		return;
	explicit_bzero(turn->input, turn->input_length);
	free(turn->input);
	turn->input = NULL;
}

static void kill_executor_group(struct turn *turn)
{
	if (!turn->exited)
		kill(-turn->pid, SIGKILL);
}

static void relay(struct turn *turn, const char *data, size_t length)
{
	if (turn->cancelled)
		return;
	turn->bytes_relayed += length;
	if (!turn->output.write(turn->output.context, data, length) && turn->stdout_fd >= 0 &&
	    !turn->output_paused) {
		/* The reader is behind: stop reading the executor, whose writes then
		 * block on a full pipe, until the reader catches up. */
		turn->output_paused = true;
		loop_modify_fd(turn_loop(turn), turn->stdout_fd, 0);
	}
}

/* The supervisor's own done line, for when the executor cannot write one. */
static void end_with_error(struct turn *turn, const char *outcome, const char *code, const char *message)
{
	if (!turn->done_relayed) {
		size_t length;
		char *line = turn_done_line(code, message, &length);
		if (line)
			relay(turn, line, length);
		free(line);
		turn->done_relayed = true;
		turn->outcome = outcome;
		log_warn("turn ended by the supervisor", "{s:s, s:s, s:i}", "code", code, "reason", message,
			 "pid", turn->pid);
	}
	kill_executor_group(turn);
	close_fd(turn, &turn->stdout_fd);
}

static const char *done_outcome(const char *line, size_t length)
{
	json_t *done = json_loadb(line, length, 0, NULL);
	const char *outcome = json_is_true(json_object_get(done, "ok")) ? "ok" : "error";
	json_decref(done);
	return outcome;
}

static void handle_line(struct turn *turn, const char *line, size_t length)
{
	bool is_done = false;
	if (turn->done_relayed)
		return; /* after done, nothing more reaches the reader */
	if (turn_line_check(line, length, &is_done) < 0) {
		end_with_error(turn, "garbage", "AGENT_RUNTIME_INTERNAL_ERROR",
			       "the turn executor wrote a line that is not a JSON object");
		return;
	}
	char *framed = malloc(length + 1);
	if (!framed) {
		end_with_error(turn, "crashed", "AGENT_RUNTIME_INTERNAL_ERROR", "out of memory");
		return;
	}
	memcpy(framed, line, length);
	framed[length] = '\n';
	relay(turn, framed, length + 1);
	free(framed);
	if (is_done) {
		turn->done_relayed = true;
		turn->outcome = done_outcome(line, length);
	}
}

static void finish_if_done(struct turn *turn);

/* Reads what the pipe holds now.  draining: the executor is gone, so read
 * all of it even if the reader asked for a pause (a pipe holds little). */
static void read_stdout(struct turn *turn, bool draining)
{
	char chunk[READ_CHUNK];
	for (;;) {
		if (turn->stdout_fd < 0)
			return;
		ssize_t got = read(turn->stdout_fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == EAGAIN)
			return;
		bool at_eof = got <= 0;
		if (!at_eof && line_buffer_append(&turn->stdout_lines, chunk, (size_t)got) == -E2BIG) {
			end_with_error(turn, "garbage", "AGENT_RUNTIME_INTERNAL_ERROR",
				       "the turn executor wrote a line longer than 1 MiB");
			return;
		}
		const char *line;
		size_t length;
		while (turn->stdout_fd >= 0 && line_buffer_next(&turn->stdout_lines, at_eof, &line, &length))
			if (length > 0)
				handle_line(turn, line, length);
		if (at_eof) {
			close_fd(turn, &turn->stdout_fd);
			return;
		}
		if (turn->output_paused && !draining)
			return;
	}
}

static void on_stdout(void *context, int fd, uint32_t events)
{
	struct turn *turn = context;
	(void)fd;
	(void)events;
	read_stdout(turn, false);
	finish_if_done(turn);
}

static void log_stderr_line(const struct turn *turn, const char *line, size_t length)
{
	char *text = strndup(line, length);
	if (text)
		log_info("turn executor stderr", "{s:i, s:s}", "pid", turn->pid, "line", text);
	free(text);
}

static void on_stderr(void *context, int fd, uint32_t events)
{
	struct turn *turn = context;
	char chunk[4096];
	(void)events;
	ssize_t got = read(fd, chunk, sizeof(chunk));
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	bool at_eof = got <= 0;
	/* A line too long for the log is logged in pieces rather than lost. */
	if (!at_eof && line_buffer_append(&turn->stderr_lines, chunk, (size_t)got) == -E2BIG) {
		log_stderr_line(turn, turn->stderr_lines.data, turn->stderr_lines.used);
		turn->stderr_lines.used = 0;
	}
	const char *line;
	size_t length;
	while (line_buffer_next(&turn->stderr_lines, at_eof, &line, &length))
		log_stderr_line(turn, line, length);
	if (at_eof)
		close_fd(turn, &turn->stderr_fd);
}

static void on_stdin_writable(void *context, int fd, uint32_t events)
{
	struct turn *turn = context;
	(void)events;
	while (turn->input_sent < turn->input_length) {
		ssize_t sent = write(fd, turn->input + turn->input_sent, turn->input_length - turn->input_sent);
		if (sent < 0 && errno == EINTR)
			continue;
		if (sent < 0 && errno == EAGAIN)
			return;
		if (sent < 0)
			break; /* EPIPE: the executor does not want its input; its exit tells the rest */
		turn->input_sent += (size_t)sent;
	}
	wipe_input(turn);
	close_fd(turn, &turn->stdin_fd); /* EOF: the request is complete */
}

static void on_timeout(void *context)
{
	struct turn *turn = context;
	char message[128];
	snprintf(message, sizeof(message), "the turn ran longer than %u s; its process group was killed",
		 turn->engine->options.timeout_seconds);
	end_with_error(turn, "timeout", "AGENT_TURN_TIMEOUT", message);
}

static void on_executor_exit(void *context, pid_t pid, int status)
{
	struct turn *turn = context;
	(void)pid;
	turn->exited = true;
	turn->wait_status = status;
	/* Whatever it wrote before exiting is still in the pipe: relay it first. */
	read_stdout(turn, true);
	if (!turn->done_relayed) {
		char message[128];
		if (WIFSIGNALED(status))
			snprintf(message, sizeof(message), "the turn executor was killed by signal %d without a done line",
				 WTERMSIG(status));
		else
			snprintf(message, sizeof(message), "the turn executor exited with status %d without a done line",
				 WEXITSTATUS(status));
		end_with_error(turn, "crashed", "AGENT_RUNTIME_INTERNAL_ERROR", message);
	}
	/* Helpers it left in its group would hold the pipes open: end them. */
	kill(-turn->pid, SIGKILL);
	close_fd(turn, &turn->stdout_fd);
	finish_if_done(turn);
}

static void release(struct turn *turn)
{
	loop_timer_stop(turn_loop(turn), &turn->timeout);
	close_fd(turn, &turn->stdin_fd);
	close_fd(turn, &turn->stdout_fd);
	close_fd(turn, &turn->stderr_fd);
	wipe_input(turn);
	line_buffer_release(&turn->stdout_lines);
	line_buffer_release(&turn->stderr_lines);
	free(turn);
}

/* A turn ends once its executor is reaped and its stdout drained or
 * abandoned; only then does the reader hear it is over. */
static void finish_if_done(struct turn *turn)
{
	if (!turn->exited || turn->stdout_fd >= 0)
		return;
	struct turn_engine *engine = turn->engine;
	double seconds = (double)(loop_now_ms() - turn->started_ms) / 1000.0;
	const char *mode = turn_ui_mode_name(turn->ui_mode);
	log_info("turn finished", "{s:s, s:s, s:i, s:I, s:I}", "ui_mode", mode, "outcome", turn->outcome,
		 "pid", turn->pid, "duration_ms", (json_int_t)(seconds * 1000), "bytes",
		 (json_int_t)turn->bytes_relayed);
	if (engine->options.observer.turn_finished)
		engine->options.observer.turn_finished(engine->options.observer.context, mode, turn->outcome,
						       seconds, turn->bytes_relayed, turn->pid, turn->wait_status);
	engine->current = NULL;
	if (!turn->cancelled && turn->output.finished)
		turn->output.finished(turn->output.context);
	release(turn);
}

static int make_pipe(int fds[2], int nonblocking_end)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	/* Only our end: the executor gets ordinary blocking stdio. */
	int flags = fcntl(fds[nonblocking_end], F_GETFL);
	if (flags < 0 || fcntl(fds[nonblocking_end], F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static void close_pair(int fds[2])
{
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	fds[0] = fds[1] = -1;
}

static int watch_pipes(struct turn *turn)
{
	struct loop *loop = turn_loop(turn);
	int result = loop_watch_fd(loop, turn->stdin_fd, EPOLLOUT, on_stdin_writable, turn);
	if (result == 0)
		result = loop_watch_fd(loop, turn->stdout_fd, EPOLLIN, on_stdout, turn);
	if (result == 0)
		result = loop_watch_fd(loop, turn->stderr_fd, EPOLLIN, on_stderr, turn);
	return result;
}

static int spawn_executor(struct turn *turn, int child_stdin, int child_stdout, int child_stderr,
			  struct turn_refusal *refusal)
{
	const struct turn_engine_options *options = &turn->engine->options;
	struct proc_spawn_request request = {
		.argv = options->executor_argv,
		.envp = options->environments[turn->ui_mode],
		.confine = options->plans[turn->ui_mode] ? options->confine : NULL,
		.plan = options->plans[turn->ui_mode],
		.stdin_fd = child_stdin, .stdout_fd = child_stdout, .stderr_fd = child_stderr,
		.on_exit = on_executor_exit,
		.context = turn,
	};
	struct proc_spawn_failure failure;
	if (proc_spawn(options->processes, &request, &turn->pid, &failure) == 0)
		return 0;
	log_error("cannot start the turn executor", "{s:s, s:s, s:s}", "command", options->executor_argv[0],
		  "step", failure.step, "error", strerror(failure.error));
	refusal->status = 500;
	refusal->code = "AGENT_RUNTIME_INTERNAL_ERROR";
	snprintf(refusal->message, sizeof(refusal->message), "the turn executor could not be started (%s: %s)",
		 failure.step, strerror(failure.error));
	return -1;
}

int turn_run_start(struct turn_engine *engine, const struct turn_request *request, const char *client,
		   const struct turn_output *output, struct turn **turn_out, struct turn_refusal *refusal)
{
	const struct turn_engine_options *options = &engine->options;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	struct turn *turn = calloc(1, sizeof(*turn));
	struct turn_session session = {
		.session_id = options->session_id, .tenant_id = options->tenant_id,
		.knowledge_graph_id = options->knowledge_graph_id, .user_id = options->user_id,
		.workspace = options->workspace,
	};

	refusal->status = 500;
	refusal->code = "AGENT_RUNTIME_INTERNAL_ERROR";
	snprintf(refusal->message, sizeof(refusal->message), "the turn could not be set up");
	if (!turn)
		return -1;
	*turn = (struct turn){ .engine = engine, .ui_mode = request->ui_mode, .output = *output,
			       .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .outcome = "ok" };
	line_buffer_init(&turn->stdout_lines, TURN_MAX_LINE_LENGTH);
	line_buffer_init(&turn->stderr_lines, STDERR_LINE_LIMIT);
	turn->input = turn_executor_input(request, &session, &turn->input_length);
	if (!turn->input || make_pipe(in, 1) < 0 || make_pipe(out, 0) < 0 || make_pipe(err, 0) < 0)
		goto fail;
	if (spawn_executor(turn, in[0], out[1], err[1], refusal) < 0)
		goto fail;
	close(in[0]);
	close(out[1]);
	close(err[1]);
	turn->stdin_fd = in[1];
	turn->stdout_fd = out[0];
	turn->stderr_fd = err[0];
	turn->started_ms = loop_now_ms();
	engine->current = turn;
	if (watch_pipes(turn) < 0) {
		/* Cannot hear it: end it now; its reaping still comes through the table. */
		kill(-turn->pid, SIGKILL);
		turn->cancelled = true;
		close_fd(turn, &turn->stdout_fd);
		return -1;
	}
	loop_timer_start(turn_loop(turn), &turn->timeout, (uint64_t)options->timeout_seconds * 1000, on_timeout,
			 turn);
	log_info("turn started", "{s:s, s:s, s:i}", "ui_mode", turn_ui_mode_name(turn->ui_mode), "client",
		 client ? client : "", "pid", turn->pid);
	if (options->observer.turn_started)
		options->observer.turn_started(options->observer.context, turn_ui_mode_name(turn->ui_mode),
					       client, turn->pid);
	*turn_out = turn;
	return 0;
fail:
	close_pair(in);
	close_pair(out);
	close_pair(err);
	wipe_input(turn);
	line_buffer_release(&turn->stdout_lines);
	line_buffer_release(&turn->stderr_lines);
	free(turn);
	return -1;
}

void turn_cancel(struct turn *turn)
{
	turn->cancelled = true;
	if (!turn->done_relayed)
		turn->outcome = "cancelled";
	log_info("turn cancelled: the client went away", "{s:i}", "pid", turn->pid);
	kill_executor_group(turn);
	close_fd(turn, &turn->stdout_fd);
	finish_if_done(turn);
}

void turn_output_drained(struct turn *turn)
{
	if (!turn->output_paused || turn->stdout_fd < 0)
		return;
	turn->output_paused = false;
	loop_modify_fd(turn_loop(turn), turn->stdout_fd, EPOLLIN);
}

void turn_engine_abort(struct turn_engine *engine, const char *reason)
{
	struct turn *turn = engine->current;
	if (turn)
		end_with_error(turn, "aborted", "AGENT_RUNTIME_INTERNAL_ERROR", reason);
}
