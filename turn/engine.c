/* The turn engine: from a request body to a confined executor whose stdout is
 * relayed line by line, ending with exactly one done line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "turn/auth.h"
#include "turn/jwt.h"
#include "turn/replay.h"
#include "turn/request.h"
#include "turn/turn.h"
#include "turn/turn_internal.h"

const char *turn_ui_mode_name_at(size_t index)
{
	return turn_ui_mode_name((enum turn_ui_mode)index);
}

int turn_engine_new(const struct turn_engine_options *options, struct turn_engine **out, char *error,
		    size_t error_size)
{
	struct turn_engine *engine = calloc(1, sizeof(*engine));
	if (!engine)
		return -ENOMEM;
	engine->options = *options;
	if (!options->executor_argv || !options->executor_argv[0]) {
		snprintf(error, error_size, "--turn-command: no turn executor given");
		goto fail;
	}
	engine->default_ui_mode = TURN_MODE_INITIAL_SCHEMA_DESIGN;
	if (options->default_ui_mode &&
	    turn_ui_mode_parse(options->default_ui_mode, &engine->default_ui_mode) < 0) {
		snprintf(error, error_size, "--mode: serve takes a ui_mode (initial-schema-design, "
					    "extraction-jobs or one-off-mutations), not \"%s\"", options->default_ui_mode);
		goto fail;
	}
	if (!options->skip_workload_token) {
		enum jwt_algorithm algorithm;
		if (jwt_algorithm_parse(options->jwt_algorithm, &algorithm) < 0) {
			snprintf(error, error_size, "--jwt-alg: \"%s\" is not one of HS256, RS256, ES256, EdDSA",
				 options->jwt_algorithm);
			goto fail;
		}
		char reason[256] = "";
		if (jwt_verifier_new(algorithm, options->jwt_key, options->jwt_key_length, &engine->verifier,
				     reason, sizeof(reason)) < 0) {
			snprintf(error, error_size, "--jwt-key-file: %s", reason);
			goto fail;
		}
		if (replay_cache_new(REPLAY_CACHE_DEFAULT_CAPACITY, &engine->replays) < 0) {
			snprintf(error, error_size, "out of memory");
			goto fail;
		}
	}
	*out = engine;
	return 0;
fail:
	turn_engine_free(engine);
	return -EINVAL;
}

void turn_engine_free(struct turn_engine *engine)
{
	if (!engine)
		return;
	jwt_verifier_free(engine->verifier);
	replay_cache_free(engine->replays);
	free(engine);
}

bool turn_engine_authorized(const struct turn_engine *engine, const char *header, size_t length)
{
	return header && turn_auth_matches(engine->options.auth_token, header, length);
}

bool turn_engine_busy(const struct turn_engine *engine)
{
	return engine->current != NULL;
}

static int refuse(struct turn_refusal *refusal, unsigned status, const char *code, const char *message)
{
	refusal->status = status;
	refusal->code = code;
	snprintf(refusal->message, sizeof(refusal->message), "%s", message);
	return -1;
}

static void report_auth_failure(struct turn_engine *engine, const char *code, const char *client,
				const char *reason)
{
	const struct turn_observer *observer = &engine->options.observer;
	if (observer->auth_failed)
		observer->auth_failed(observer->context, code, client, reason);
}

static int64_t wall_clock_seconds(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec;
}

/* The token is checked only after the body is known to be well formed, and
 * its jti is recorded only once everything else holds, so that a refused
 * request cannot burn a valid token. */
static int verify_workload_token(struct turn_engine *engine, const struct turn_request *request,
				 const char *client, struct turn_refusal *refusal)
{
	if (engine->options.skip_workload_token)
		return 0;
	if (!request->workload_token) {
		report_auth_failure(engine, "WORKLOAD_TOKEN_INVALID", client, "no workload_token");
		return refuse(refusal, 401, "WORKLOAD_TOKEN_INVALID", "workload_token is required");
	}
	struct jwt_expectations expect = {
		.session_id = engine->options.session_id,
		.tenant_id = engine->options.tenant_id,
		.knowledge_graph_id = engine->options.knowledge_graph_id,
	};
	struct jwt_claims claims;
	char reason[256] = "";
	int64_t now = wall_clock_seconds();
	enum jwt_result result = jwt_verify(engine->verifier, request->workload_token,
					    strlen(request->workload_token), &expect, now, &claims, reason,
					    sizeof(reason));
	if (result == JWT_OK)
		result = replay_cache_record(engine->replays, &claims, now);

	switch (result) {
	case JWT_OK:
		return 0;
	case JWT_SCOPE:
		report_auth_failure(engine, "WORKLOAD_TOKEN_SCOPE", client, reason);
		return refuse(refusal, 403, "WORKLOAD_TOKEN_SCOPE", "the workload token is not for this session");
	case JWT_REPLAYED:
		report_auth_failure(engine, "WORKLOAD_TOKEN_REPLAYED", client, "jti already used");
		return refuse(refusal, 401, "WORKLOAD_TOKEN_REPLAYED", "the workload token was already used");
	case JWT_REPLAY_CACHE_FULL:
		return refuse(refusal, 503, "WORKLOAD_TOKEN_REPLAY_CACHE_FULL",
			      "too many live workload tokens; retry shortly");
	default:
		report_auth_failure(engine, "WORKLOAD_TOKEN_INVALID", client, reason);
		return refuse(refusal, 401, "WORKLOAD_TOKEN_INVALID", "the workload token is not valid");
	}
}

int turn_engine_start(struct turn_engine *engine, const char *body, size_t length, const char *client,
		      const struct turn_output *output, struct turn **turn_out, struct turn_refusal *refusal)
{
	struct turn_request request = { 0 };
	char reason[256];
	int result = -1;

	if (engine->current)
		return refuse(refusal, 409, "TURN_IN_PROGRESS", "another turn is running in this sandbox");
	if (length > TURN_MAX_BODY)
		return refuse(refusal, 413, "REQUEST_TOO_LARGE", "the request body is larger than 1 MiB");
	if (turn_request_parse(body, length, &request, reason, sizeof(reason)) < 0)
		return refuse(refusal, 422, "REQUEST_INVALID", reason);
	if (!request.ui_mode_given)
		request.ui_mode = engine->default_ui_mode;
	if (verify_workload_token(engine, &request, client, refusal) < 0)
		goto out;
	const char *unenforceable = engine->options.unenforceable[request.ui_mode];
	if (unenforceable) {
		refuse(refusal, 503, "POLICY_NOT_ENFORCEABLE", unenforceable);
		goto out;
	}
	result = turn_run_start(engine, &request, client, output, turn_out, refusal);
out:
	turn_request_release(&request);
	return result;
}
