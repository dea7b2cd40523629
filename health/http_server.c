/* The server core: socket, libmicrohttpd on our loop, routing, and the small
 * endpoints.  /v1/turn lives in http_turn.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "health/http_internal.h"
#include "health/metrics.h"
#include "init/log.h"

/* Bounds that keep one client from starving the others: a slowloris holds at
 * most its own few connections, each dropped after the idle timeout. */
#define CONNECTION_LIMIT 256
#define PER_CLIENT_CONNECTION_LIMIT 32
#define IDLE_TIMEOUT_SECONDS 15
#define CONNECTION_MEMORY_LIMIT (64 * 1024)

enum MHD_Result http_respond_json(struct MHD_Connection *connection, const char *path, unsigned status,
				  json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	if (!text)
		return MHD_NO;
	size_t length = strlen(text);
	struct MHD_Response *response =
		MHD_create_response_from_buffer(length, text, MHD_RESPMEM_MUST_FREE);
	if (!response) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	enum MHD_Result result = MHD_queue_response(connection, status, response);
	MHD_destroy_response(response);
	metrics_http_request(path, status);
	return result;
}

enum MHD_Result http_respond_error(struct MHD_Connection *connection, const char *path, unsigned status,
				   const char *code, const char *message)
{
	return http_respond_json(connection, path, status,
				 json_pack("{s:{s:s, s:s}}", "detail", "code", code, "message", message));
}

static enum MHD_Result respond_health(struct http_server *server, struct MHD_Connection *connection)
{
	char marker[4096];
	struct stat info;
	snprintf(marker, sizeof(marker), "%s/knowledge-graph-id", server->options.workspace);
	bool ready = stat(marker, &info) == 0;
	return http_respond_json(connection, "/health", ready ? 200 : 503,
				 json_pack("{s:s, s:s?}", "status", ready ? "ok" : "workspace_unavailable",
					   "session_id", server->options.session_id));
}

static enum MHD_Result respond_readiness(struct http_server *server, struct MHD_Connection *connection)
{
	json_t *reasons = json_array();
	if (server->options.readiness)
		server->options.readiness(server->options.context, reasons);
	bool ready = json_array_size(reasons) == 0;
	return http_respond_json(connection, "/readyz", ready ? 200 : 503,
				 json_pack("{s:s, s:o}", "status", ready ? "ready" : "not_ready", "reasons",
					   reasons));
}

static enum MHD_Result respond_metrics(struct http_server *server, struct MHD_Connection *connection)
{
	if (server->options.refresh_metrics)
		server->options.refresh_metrics(server->options.context);
	metrics_http_request("/metrics", 200);
	size_t length;
	char *text = metrics_render(&length);
	if (!text)
		return MHD_NO;
	struct MHD_Response *response = MHD_create_response_from_buffer(length, text, MHD_RESPMEM_MUST_FREE);
	if (!response) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE);
	enum MHD_Result result = MHD_queue_response(connection, 200, response);
	MHD_destroy_response(response);
	return result;
}

static void describe_client(struct MHD_Connection *connection, char *out, size_t size)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, size, "unknown");
	if (!info || !info->client_addr)
		return;
	socklen_t length = info->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
								  : sizeof(struct sockaddr_in);
	char host[INET6_ADDRSTRLEN], port[8];
	if (getnameinfo(info->client_addr, length, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(out, size, "%s:%s", host, port);
}

static bool is_read_method(const char *method)
{
	return strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

static enum MHD_Result respond_wrong_method(struct MHD_Connection *connection, const char *path,
					    const char *allowed)
{
	json_t *body = json_pack("{s:{s:s, s:s}}", "detail", "code", "METHOD_NOT_ALLOWED", "message",
				 "this path does not take that method");
	char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	struct MHD_Response *response =
		MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, allowed);
	enum MHD_Result result = MHD_queue_response(connection, 405, response);
	MHD_destroy_response(response);
	metrics_http_request(path, 405);
	return result;
}

static enum MHD_Result on_request(void *context, struct MHD_Connection *connection, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **request_context)
{
	struct http_server *server = context;
	struct http_request *request = *request_context;
	(void)version;

	if (!request) {
		request = calloc(1, sizeof(*request));
		if (!request)
			return MHD_NO;
		describe_client(connection, request->client, sizeof(request->client));
		request->kind = strcmp(url, "/v1/turn") == 0 ? REQUEST_TURN : REQUEST_SIMPLE;
		*request_context = request;
		/* libmicrohttpd 0.9 closes any connection whose response is queued in
		 * this first call; answering on the next keeps probes' connections alive. */
		if (request->kind == REQUEST_SIMPLE)
			return MHD_YES;
	}
	if (request->kind == REQUEST_TURN) {
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			return respond_wrong_method(connection, "/v1/turn", "POST");
		if (!server->options.turns)
			return http_respond_error(connection, "/v1/turn", 404, "NOT_FOUND",
						  "this sandbox-init serves no turns (job mode)");
		return http_turn_request(server, connection, request, upload_data, upload_data_size);
	}

	if (*upload_data_size > 0) {
		*upload_data_size = 0; /* a body on a read is ignored */
		return MHD_YES;
	}
	static const char *const read_paths[] = { "/health", "/healthz", "/readyz", "/metrics" };
	for (size_t i = 0; i < sizeof(read_paths) / sizeof(read_paths[0]); i++) {
		if (strcmp(url, read_paths[i]) != 0)
			continue;
		if (!is_read_method(method))
			return respond_wrong_method(connection, read_paths[i], "GET, HEAD");
		switch (i) {
		case 0: return respond_health(server, connection);
		case 1: return http_respond_json(connection, "/healthz", 200, json_pack("{s:s}", "status", "alive"));
		case 2: return respond_readiness(server, connection);
		default: return respond_metrics(server, connection);
		}
	}
	return http_respond_error(connection, "other", 404, "NOT_FOUND", "no such path");
}

static void on_completed(void *context, struct MHD_Connection *connection, void **request_context,
			 enum MHD_RequestTerminationCode code)
{
	struct http_server *server = context;
	struct http_request *request = *request_context;
	(void)connection;
	(void)code;
	if (!request)
		return;
	if (request->kind == REQUEST_TURN)
		http_turn_completed(server, request);
	free(request->body);
	free(request);
	*request_context = NULL;
}

__attribute__((format(printf, 2, 0)))
static void on_mhd_log(void *context, const char *format, va_list args)
{
	char message[512];
	(void)context;
	vsnprintf(message, sizeof(message), format, args);
	message[strcspn(message, "\n")] = '\0';
	log_debug("http server", "{s:s}", "detail", message);
}

/* ---- libmicrohttpd on our loop ---- */

static void run_daemon(void *context);

static void arm_timer(struct http_server *server)
{
	MHD_UNSIGNED_LONG_LONG timeout;
	if (MHD_get_timeout(server->daemon, &timeout) == MHD_YES)
		loop_timer_start(server->options.loop, &server->timer, timeout, run_daemon, server);
	else
		loop_timer_stop(server->options.loop, &server->timer);
}

static void run_daemon(void *context)
{
	struct http_server *server = context;
	MHD_run(server->daemon);
	arm_timer(server);
}

static void on_daemon_ready(void *context, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	run_daemon(context);
}

void http_schedule_run(struct http_server *server)
{
	loop_timer_start(server->options.loop, &server->timer, 0, run_daemon, server);
}

/* ADDR:PORT or [ADDR]:PORT, numeric only: a sandbox has no business
 * resolving names to find its own listening address. */
static int parse_listen(const char *where, struct sockaddr_storage *address, socklen_t *length)
{
	char host[64];
	const char *colon = strrchr(where, ':');
	if (!colon || colon == where || (size_t)(colon - where) >= sizeof(host))
		return -EINVAL;
	memcpy(host, where, (size_t)(colon - where));
	host[colon - where] = '\0';
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port > 65535)
		return -EINVAL;

	memset(address, 0, sizeof(*address));
	size_t host_length = strlen(host);
	if (host[0] == '[' && host[host_length - 1] == ']') {
		struct sockaddr_in6 *ipv6 = (struct sockaddr_in6 *)address;
		host[host_length - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &ipv6->sin6_addr) != 1)
			return -EINVAL;
		ipv6->sin6_family = AF_INET6;
		ipv6->sin6_port = htons((uint16_t)port);
		*length = sizeof(*ipv6);
		return 0;
	}
	struct sockaddr_in *ipv4 = (struct sockaddr_in *)address;
	if (inet_pton(AF_INET, host, &ipv4->sin_addr) != 1)
		return -EINVAL;
	ipv4->sin_family = AF_INET;
	ipv4->sin_port = htons((uint16_t)port);
	*length = sizeof(*ipv4);
	return 0;
}

static int open_listener(const char *where, char *error, size_t error_size)
{
	struct sockaddr_storage address;
	socklen_t length;
	if (parse_listen(where, &address, &length) < 0) {
		snprintf(error, error_size, "--listen: \"%s\" is not ADDR:PORT with a numeric address", where);
		return -EINVAL;
	}
	int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int on = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(fd, (struct sockaddr *)&address, length) < 0 || listen(fd, 128) < 0) {
		int saved = errno;
		snprintf(error, error_size, "--listen %s: %s", where, strerror(saved));
		if (fd >= 0)
			close(fd);
		return -saved;
	}
	return fd;
}

int http_server_start(const struct http_server_options *options, struct http_server **out, char *error,
		      size_t error_size)
{
	struct http_server *server = calloc(1, sizeof(*server));
	if (!server)
		return -ENOMEM;
	server->options = *options;
	server->epoll_fd = -1;
	int listen_fd = open_listener(options->listen, error, error_size);
	if (listen_fd < 0) {
		free(server);
		return listen_fd;
	}
	server->daemon = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, server,
		MHD_OPTION_LISTEN_SOCKET, listen_fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_CLIENT_CONNECTION_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_SECONDS,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY_LIMIT,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, server,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, server,
		MHD_OPTION_END);
	if (!server->daemon) {
		close(listen_fd);
		snprintf(error, error_size, "--listen %s: the HTTP server could not start", options->listen);
		free(server);
		return -EIO;
	}
	/* From here the daemon owns the listening socket and closes it. */
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		snprintf(error, error_size, "--listen %s: the HTTP server could not start", options->listen);
		http_server_stop(server);
		return -EIO;
	}
	server->epoll_fd = info->epoll_fd;
	int result = loop_watch_fd(options->loop, server->epoll_fd, EPOLLIN, on_daemon_ready, server);
	if (result < 0) {
		snprintf(error, error_size, "cannot watch the HTTP server: %s", strerror(-result));
		server->epoll_fd = -1;
		http_server_stop(server);
		return result;
	}
	arm_timer(server);
	*out = server;
	return 0;
}

void http_server_quiesce(struct http_server *server)
{
	if (!server->daemon || server->quiesced)
		return;
	server->quiesced = true;
	/* The daemon hands the listening socket back; closing it makes the
	 * kernel refuse new connections instead of queueing them. */
	MHD_socket listen_fd = MHD_quiesce_daemon(server->daemon);
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
}

bool http_server_streaming(const struct http_server *server)
{
	return server->streams > 0;
}

void http_server_stop(struct http_server *server)
{
	if (!server)
		return;
	loop_timer_stop(server->options.loop, &server->timer);
	if (server->epoll_fd >= 0 && server->daemon)
		loop_unwatch_fd(server->options.loop, server->epoll_fd);
	if (server->daemon)
		MHD_stop_daemon(server->daemon);
	free(server);
}
