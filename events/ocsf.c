#include "events/ocsf.h"
#include "events/ocsf_frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* ---- identifiers ---- */

static int random_bytes(uint8_t *out, size_t size)
{
	/* GRND_INSECURE never blocks: a uid must be unique, not secret, and PID 1
	 * of a freshly booted VM must not wait for the entropy pool to fill
	 * before it can report that it started.  Kernels before 5.6 refuse the
	 * flag; they get the ordinary (then possibly blocking) call. */
	unsigned int flags = GRND_INSECURE;

	while (size > 0) {
		ssize_t got = getrandom(out, size, flags);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EINVAL && flags != 0) {
				flags = 0;
				continue;
			}
			return -errno;
		}
		out += got;
		size -= (size_t)got;
	}
	return 0;
}

/* One getrandom() per 256 uids instead of one per event: on a busy supervisor
 * the system call was a third of the cost of emitting.  The bytes are the
 * kernel's either way; a forked child that exec's never uses the pool. */
static int pooled_random_bytes(uint8_t *out, size_t size)
{
	static uint8_t pool[4096];
	static size_t available;

	if (size > sizeof(pool))
		return random_bytes(out, size);
	if (available < size) {
		int result = random_bytes(pool, sizeof(pool));
		if (result < 0)
			return result;
		available = sizeof(pool);
	}
	uint8_t *taken = pool + sizeof(pool) - available;
	memcpy(out, taken, size);
	explicit_bzero(taken, size);
	available -= size;
	return 0;
}

int ocsf_uuid4(char out[OCSF_UUID_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t bytes[16];
	int result = pooled_random_bytes(bytes, sizeof(bytes));

	if (result < 0)
		return result;
	bytes[6] = (uint8_t)((bytes[6] & 0x0f) | 0x40);   /* version 4: random */
	bytes[8] = (uint8_t)((bytes[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
	char *cursor = out;
	for (size_t i = 0; i < sizeof(bytes); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*cursor++ = '-';
		*cursor++ = hex[bytes[i] >> 4];
		*cursor++ = hex[bytes[i] & 0x0f];
	}
	*cursor = '\0';
	return 0;
}

int ocsf_stamp(json_t *event, const char *uid, uint64_t sequence, uint64_t time_ms)
{
	json_t *metadata = json_object_get(event, "metadata");
	json_t *finding_info = json_object_get(event, "finding_info");
	int failed = 0;

	failed |= json_object_set_new(event, "time", json_integer((json_int_t)time_ms));
	failed |= json_object_set_new(metadata, "uid", json_string(uid));
	failed |= json_object_set_new(metadata, "sequence", json_integer((json_int_t)sequence));
	if (finding_info)
		failed |= json_object_set_new(finding_info, "uid", json_string(uid));
	return failed ? -ENOMEM : 0;
}

/* ---- text and endpoints ---- */

/* jansson refuses a string that is not UTF-8.  Keeping the ASCII of such a
 * string keeps the event readable instead of losing it. */
static json_t *ascii_only(const char *text)
{
	size_t length = strlen(text);
	char *copy = malloc(length + 1);
	json_t *value;

	if (!copy)
		return NULL;
	for (size_t i = 0; i <= length; i++)
		copy[i] = (unsigned char)text[i] < 0x80 ? text[i] : '?';
	value = json_string(copy);
	free(copy);
	return value;
}

json_t *ocsf_text(const char *text)
{
	json_t *value;

	if (!text)
		return json_null();
	value = json_string(text);
	return value ? value : ascii_only(text);
}

static bool is_ip_address(const char *text)
{
	unsigned char address[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, text, address) == 1 || inet_pton(AF_INET6, text, address) == 1;
}

static bool parse_port(const char *text, int *port)
{
	char *end;
	long value;

	if (*text < '0' || *text > '9')
		return false;
	errno = 0;
	value = strtol(text, &end, 10);
	if (errno || *end || value > 65535)
		return false;
	*port = (int)value;
	return true;
}

/* The HTTP server describes its clients as "host:port", numerically, with
 * IPv6 hosts unbracketed ("::1:41234"), so the port is after the last colon. */
json_t *ocsf_endpoint(const char *address)
{
	char host[64];
	const char *colon;
	int port;

	if (!address)
		return json_null();
	colon = strrchr(address, ':');
	if (colon && parse_port(colon + 1, &port) && (size_t)(colon - address) < sizeof(host)) {
		size_t length = (size_t)(colon - address);
		memcpy(host, address, length);
		host[length] = '\0';
		if (length > 2 && host[0] == '[' && host[length - 1] == ']') {
			memmove(host, host + 1, length - 2);
			host[length - 2] = '\0';
		}
		if (is_ip_address(host))
			return json_pack("{s:s, s:i}", "ip", host, "port", port);
	}
	if (is_ip_address(address))
		return json_pack("{s:s}", "ip", address);
	return json_pack("{s:o}", "name", ocsf_text(address));
}

/* ---- the frame every event shares ---- */

static const char *const severity_names[] = {
	[OCSF_SEVERITY_INFORMATIONAL] = "Informational",
	[OCSF_SEVERITY_MEDIUM] = "Medium",
	[OCSF_SEVERITY_HIGH] = "High",
};

json_t *ocsf_product(void)
{
	return json_pack("{s:s, s:s, s:s}", "name", OCSF_PRODUCT_NAME, "vendor_name", OCSF_VENDOR_NAME,
			 "version", SI_VERSION);
}

static json_t *type_name(const struct ocsf_class *class, const struct ocsf_activity *activity)
{
	return json_sprintf("%s: %s", class->name, activity->caption);
}

json_t *ocsf_event_new(const struct ocsf_class *class, const struct ocsf_activity *activity,
		       enum ocsf_severity severity, const char *message_format, ...)
{
	json_t *event;
	char *message;
	va_list arguments;

	va_start(arguments, message_format);
	int length = vasprintf(&message, message_format, arguments);
	va_end(arguments);
	if (length < 0)
		return NULL;
	/* time, metadata.uid and metadata.sequence are placeholders ocsf_stamp()
	 * fills in, here so that every event lists its keys in the same order. */
	event = json_pack("{s:i, s:s, s:i, s:s, s:i, s:s, s:i, s:o, s:i, s:i, s:s, s:o,"
			  " s:{s:n, s:i, s:s, s:o}}",
			  "class_uid", class->uid, "class_name", class->name,
			  "category_uid", class->category_uid, "category_name", class->category_name,
			  "activity_id", activity->id,
			  "activity_name", activity->name ? activity->name : activity->caption,
			  "type_uid", class->uid * 100 + activity->id,
			  "type_name", type_name(class, activity), "time", 0,
			  "severity_id", (int)severity, "severity", severity_names[severity],
			  "message", ocsf_text(message),
			  "metadata", "uid", "sequence", 0, "version", OCSF_SCHEMA_VERSION,
			  "product", ocsf_product());
	free(message);
	return event;
}

int ocsf_set_status(json_t *event, enum ocsf_status status, const char *detail)
{
	int failed = 0;

	failed |= json_object_set_new(event, "status_id", json_integer(status));
	failed |= json_object_set_new(event, "status",
				      json_string(status == OCSF_STATUS_SUCCESS ? "Success" : "Failure"));
	if (detail)
		failed |= json_object_set_new(event, "status_detail", ocsf_text(detail));
	return failed;
}

int ocsf_set_outcome(json_t *event, bool success, const char *detail)
{
	int failed = ocsf_set_status(event, success ? OCSF_STATUS_SUCCESS : OCSF_STATUS_FAILURE, detail);

	/* A failure asks for attention: Medium, unless the builder said more. */
	if (!success && json_integer_value(json_object_get(event, "severity_id")) < OCSF_SEVERITY_MEDIUM) {
		failed |= json_object_set_new(event, "severity_id", json_integer(OCSF_SEVERITY_MEDIUM));
		failed |= json_object_set_new(event, "severity",
					      json_string(severity_names[OCSF_SEVERITY_MEDIUM]));
	}
	return failed;
}

static json_t *identity_object(const struct ocsf_identity *identity)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o}", "session_id", ocsf_text(identity->session_id),
			 "tenant_id", ocsf_text(identity->tenant_id), "knowledge_graph_id",
			 ocsf_text(identity->knowledge_graph_id), "job_id", ocsf_text(identity->job_id),
			 "sandbox", ocsf_text(identity->sandbox));
}

json_t *ocsf_event_finish(json_t *event, int failed, const struct ocsf_identity *identity,
			  json_t *extras)
{
	json_t *unmapped = identity_object(identity);

	if (!extras || json_object_update(unmapped, extras) < 0)
		failed = -1;
	json_decref(extras);
	failed |= json_object_set_new(event, "unmapped", unmapped);
	if (failed) {
		json_decref(event);
		return NULL;
	}
	return event;
}
