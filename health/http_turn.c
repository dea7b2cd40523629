/* POST /v1/turn: authentication from the headers alone, the body up to 1 MiB,
 * then the executor's NDJSON streamed as it arrives.  While the executor is
 * quiet the connection is suspended; our loop watches its socket so a client
 * that goes away still ends the turn at once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "health/http_internal.h"
#include "health/metrics.h"
#include "init/log.h"

#define STREAM_BLOCK (64 * 1024)
/* Past this much unsent output the executor's stdout is paused: a slow client
 * slows the executor instead of growing our memory. */
#define STREAM_HIGH_WATER (4 * 1024 * 1024)

struct turn_stream {
	struct http_server *server;
	struct MHD_Connection *connection;
	struct turn *turn;           /* NULL once it finished or was cancelled */
	char *data;
	size_t length, sent, capacity;
	bool finished;               /* the done line is in data: end after it */
	bool suspended;
	bool client_gone;
	bool turn_paused;
	int socket_fd;               /* watched for the client hanging up, or -1 */
	int references;              /* the request and the response */
};

static void release_stream(struct turn_stream *stream)
{
	if (--stream->references > 0)
		return;
	free(stream->data);
	free(stream);
}

static void wake(struct turn_stream *stream)
{
	if (!stream->suspended)
		return;
	stream->suspended = false;
	MHD_resume_connection(stream->connection);
	http_schedule_run(stream->server);
}

static void stop_watching_socket(struct turn_stream *stream)
{
	if (stream->socket_fd < 0)
		return;
	loop_unwatch_fd(stream->server->options.loop, stream->socket_fd);
	stream->socket_fd = -1;
}

static bool append_output(void *context, const char *data, size_t length)
{
	struct turn_stream *stream = context;
	if (stream->sent > 0 && stream->sent == stream->length)
		stream->sent = stream->length = 0;
	if (stream->length + length > stream->capacity) {
		size_t capacity = stream->capacity ? stream->capacity : STREAM_BLOCK;
		while (capacity < stream->length + length)
			capacity *= 2;
		char *grown = realloc(stream->data, capacity);
		if (!grown)
			return false; /* dropped: the pause that follows is the best we can do */
		stream->data = grown;
		stream->capacity = capacity;
	}
	memcpy(stream->data + stream->length, data, length);
	stream->length += length;
	wake(stream);
	bool has_room = stream->length - stream->sent < STREAM_HIGH_WATER;
	stream->turn_paused = !has_room;
	return has_room;
}

static void output_finished(void *context)
{
	struct turn_stream *stream = context;
	stream->finished = true;
	stream->turn = NULL;
	wake(stream);
}

static ssize_t read_stream(void *context, uint64_t position, char *buffer, size_t max)
{
	struct turn_stream *stream = context;
	(void)position;
	size_t available = stream->length - stream->sent;
	if (available > 0) {
		size_t count = available < max ? available : max;
		memcpy(buffer, stream->data + stream->sent, count);
		stream->sent += count;
		if (stream->turn_paused && stream->turn && stream->length - stream->sent < STREAM_HIGH_WATER / 2) {
			stream->turn_paused = false;
			turn_output_drained(stream->turn);
		}
		return (ssize_t)count;
	}
	if (stream->client_gone)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (stream->finished)
		return MHD_CONTENT_READER_END_OF_STREAM;
	/* Nothing yet: park the connection until the executor writes. */
	MHD_suspend_connection(stream->connection);
	stream->suspended = true;
	return 0;
}

static void free_stream_response(void *context)
{
	release_stream(context);
}

static void on_client_hangup(void *context, int fd, uint32_t events)
{
	struct turn_stream *stream = context;
	(void)fd;
	(void)events;
	stop_watching_socket(stream);
	stream->client_gone = true;
	if (stream->turn) {
		struct turn *turn = stream->turn;
		stream->turn = NULL;
		turn_cancel(turn);
	}
	wake(stream);
}

static void watch_client(struct turn_stream *stream)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(stream->connection, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!info)
		return;
	/* EPOLLRDHUP alone: MHD reads the socket; we only want to hear the hang-up. */
	if (loop_watch_fd(stream->server->options.loop, info->connect_fd, EPOLLRDHUP, on_client_hangup,
			  stream) == 0)
		stream->socket_fd = info->connect_fd;
}

static enum MHD_Result refuse(struct http_request *request, struct MHD_Connection *connection,
			      unsigned status, const char *code, const char *message)
{
	request->answered = true;
	return http_respond_error(connection, "/v1/turn", status, code, message);
}

static enum MHD_Result check_headers(struct http_server *server, struct MHD_Connection *connection,
				     struct http_request *request)
{
	const char *auth = NULL;
	size_t auth_length = 0;
	MHD_lookup_connection_value_n(connection, MHD_HEADER_KIND, "X-Kartograph-Runtime-Auth",
				      strlen("X-Kartograph-Runtime-Auth"), &auth, &auth_length);
	if (!turn_engine_authorized(server->options.turns, auth, auth_length)) {
		metrics_auth_failure(METRICS_AUTH_RUNTIME_AUTH_REQUIRED);
		log_warn("runtime authentication failed", "{s:s, s:b}", "client", request->client, "header_present",
			 auth != NULL);
		if (server->options.auth_failed)
			server->options.auth_failed(server->options.context, request->client);
		return refuse(request, connection, 401, "RUNTIME_AUTH_REQUIRED",
			      "X-Kartograph-Runtime-Auth is missing or wrong");
	}
	const char *declared = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
							   MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (declared && strtoull(declared, NULL, 10) > TURN_MAX_BODY)
		return refuse(request, connection, 413, "REQUEST_TOO_LARGE", "the request body is larger than 1 MiB");
	if (turn_engine_busy(server->options.turns))
		return refuse(request, connection, 409, "TURN_IN_PROGRESS", "another turn is running in this sandbox");
	request->headers_checked = true;
	return MHD_YES;
}

/* libmicrohttpd takes no response while a body is still arriving, so a
 * chunked body that outgrows the limit is read on, unstored, and answered at
 * its end; one that goes on far past the limit just gets the connection closed. */
#define OVERSIZED_BODY_DISCARD_LIMIT (8 * 1024 * 1024)

static enum MHD_Result accumulate_body(struct http_request *request, const char *data, size_t *size)
{
	size_t length = *size;
	*size = 0;
	if (request->oversized) {
		request->discarded += length;
		return request->discarded > OVERSIZED_BODY_DISCARD_LIMIT ? MHD_NO : MHD_YES;
	}
	if (request->body_length + length > TURN_MAX_BODY) {
		request->oversized = true;
		return MHD_YES;
	}
	if (request->body_length + length > request->body_capacity) {
		size_t capacity = request->body_capacity ? request->body_capacity : 4096;
		while (capacity < request->body_length + length)
			capacity *= 2;
		char *grown = realloc(request->body, capacity);
		if (!grown)
			return MHD_NO;
		request->body = grown;
		request->body_capacity = capacity;
	}
	memcpy(request->body + request->body_length, data, length);
	request->body_length += length;
	return MHD_YES;
}

static enum MHD_Result start_stream(struct http_server *server, struct MHD_Connection *connection,
				    struct http_request *request)
{
	struct turn_stream *stream = calloc(1, sizeof(*stream));
	if (!stream)
		return MHD_NO;
	*stream = (struct turn_stream){ .server = server, .connection = connection, .socket_fd = -1,
					.references = 1 };
	struct turn_output output = { .write = append_output, .finished = output_finished, .context = stream };
	struct turn_refusal refusal;
	request->answered = true;
	if (turn_engine_start(server->options.turns, request->body ? request->body : "", request->body_length,
			      request->client, &output, &stream->turn, &refusal) < 0) {
		release_stream(stream);
		return http_respond_error(connection, "/v1/turn", refusal.status, refusal.code, refusal.message);
	}
	request->stream = stream;
	server->streams++;

	struct MHD_Response *response = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
									   read_stream, stream,
									   free_stream_response);
	if (!response)
		return MHD_NO; /* the completed callback cancels the turn */
	stream->references++;
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-ndjson");
	MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	enum MHD_Result result = MHD_queue_response(connection, 200, response);
	MHD_destroy_response(response);
	metrics_http_request("/v1/turn", 200);
	watch_client(stream);
	return result;
}

enum MHD_Result http_turn_request(struct http_server *server, struct MHD_Connection *connection,
				  struct http_request *request, const char *upload_data, size_t *upload_data_size)
{
	if (!request->headers_checked && !request->answered)
		return check_headers(server, connection, request);
	if (*upload_data_size > 0)
		return accumulate_body(request, upload_data, upload_data_size);
	if (request->answered)
		return MHD_YES;
	/* The body is complete. */
	if (request->oversized)
		return refuse(request, connection, 413, "REQUEST_TOO_LARGE", "the request body is larger than 1 MiB");
	return start_stream(server, connection, request);
}

void http_turn_completed(struct http_server *server, struct http_request *request)
{
	struct turn_stream *stream = request->stream;
	if (!stream)
		return;
	request->stream = NULL;
	stop_watching_socket(stream);
	if (stream->turn) {
		struct turn *turn = stream->turn;
		stream->turn = NULL;
		stream->client_gone = true;
		turn_cancel(turn);
	}
	server->streams--;
	release_stream(stream);
}
