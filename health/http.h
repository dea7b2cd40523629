/* The HTTP server: /health, /healthz, /readyz, /metrics and POST /v1/turn,
 * on libmicrohttpd driven from the supervisor's loop (its epoll fd is one of
 * the loop's fds), so that HTTP never blocks reaping or signals and a slow or
 * idle client never blocks another. */
#ifndef SANDBOX_INIT_HTTP_H
#define SANDBOX_INIT_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "init/loop.h"
#include "turn/turn.h"

struct http_server;

struct http_server_options {
	struct loop *loop;
	const char *listen;             /* "ADDR:PORT", "[ADDR]:PORT" */
	struct turn_engine *turns;      /* NULL: no /v1/turn (job mode) */
	const char *workspace;          /* /health looks for <workspace>/knowledge-graph-id */
	const char *session_id;
	/* Appends to reasons why the sandbox is not ready (none: ready). */
	void (*readiness)(void *context, json_t *reasons);
	/* Called before /metrics renders, to bring gauges up to date. */
	void (*refresh_metrics)(void *context);
	/* A request failed runtime authentication (never passed the token). */
	void (*auth_failed)(void *context, const char *client);
	void *context;
};

/* Binds and starts serving.  Returns 0, or -errno with one line in error. */
int http_server_start(const struct http_server_options *options, struct http_server **out,
		      char *error, size_t error_size);

/* Stops accepting connections; requests in flight go on. */
void http_server_quiesce(struct http_server *server);

/* True while a streamed response has not been fully sent. */
bool http_server_streaming(const struct http_server *server);

void http_server_stop(struct http_server *server);

#endif
