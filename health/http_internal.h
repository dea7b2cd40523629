/* Shared by the server core and the /v1/turn exchange.  Internal to health/. */
#ifndef SANDBOX_INIT_HTTP_INTERNAL_H
#define SANDBOX_INIT_HTTP_INTERNAL_H

#include <microhttpd.h>

#include "health/http.h"

struct http_server {
	struct http_server_options options;
	struct MHD_Daemon *daemon;
	bool quiesced;
	int epoll_fd;                   /* MHD's own, watched by our loop */
	struct loop_timer timer;        /* MHD's timeouts, and runs after a resume */
	unsigned streams;               /* turn responses not yet complete */
};

/* Per request: what the access handler accumulates between its calls. */
struct http_request {
	enum { REQUEST_SIMPLE, REQUEST_TURN } kind;
	char client[64];
	bool headers_checked;           /* REQUEST_TURN: auth and limits passed */
	bool answered;                  /* a response is queued */
	bool oversized;                 /* the body passed 1 MiB: read on, answer 413 */
	size_t discarded;
	char *body;
	size_t body_length, body_capacity;
	struct turn_stream *stream;     /* REQUEST_TURN once the turn runs */
};

/* Run MHD soon: after a resume, which MHD only acts on in MHD_run(). */
void http_schedule_run(struct http_server *server);

enum MHD_Result http_respond_json(struct MHD_Connection *connection, const char *path,
				  unsigned status, json_t *body);
enum MHD_Result http_respond_error(struct MHD_Connection *connection, const char *path,
				   unsigned status, const char *code, const char *message);

/* POST /v1/turn, called on each access-handler round for that path. */
enum MHD_Result http_turn_request(struct http_server *server, struct MHD_Connection *connection,
				  struct http_request *request, const char *upload_data,
				  size_t *upload_data_size);

/* The request is over (sent, or the client went away). */
void http_turn_completed(struct http_server *server, struct http_request *request);

#endif
