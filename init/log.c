#include "init/log.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level threshold = LOG_LEVEL_INFO;

static const char *const level_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
};

int log_set_level_name(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			threshold = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(name, "warning") == 0) {
		threshold = LOG_LEVEL_WARN;
		return 0;
	}
	return -EINVAL;
}

void log_set_level(enum log_level level)
{
	threshold = level;
}

bool log_enabled(enum log_level level)
{
	return level >= threshold;
}

static void format_utc_now(char *buffer, size_t size)
{
	struct timespec now;
	struct tm utc;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &utc);
	size_t used = strftime(buffer, size, "%Y-%m-%dT%H:%M:%S", &utc);
	snprintf(buffer + used, size - used, ".%03ldZ", now.tv_nsec / 1000000);
}

/* One write(2) per line, so lines from the supervisor never interleave
 * mid-record with each other on a pipe. */
static void write_line(const char *line, size_t length)
{
	while (length > 0) {
		ssize_t written = write(STDERR_FILENO, line, length);
		if (written < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		line += written;
		length -= (size_t)written;
	}
}

void log_write(enum log_level level, const char *message, const char *fields_format, ...)
{
	int saved_errno = errno;
	char timestamp[40];
	json_t *record = NULL, *fields = NULL;
	char *text = NULL, *line = NULL;

	if (!log_enabled(level))
		goto out;

	format_utc_now(timestamp, sizeof(timestamp));
	record = json_pack("{s:s, s:s, s:s?}", "time", timestamp, "level", level_names[level],
			   "msg", message);
	if (!record)
		goto out;
	if (fields_format) {
		va_list args;
		json_error_t error;
		va_start(args, fields_format);
		fields = json_vpack_ex(&error, 0, fields_format, args);
		va_end(args);
		if (json_is_object(fields))
			json_object_update(record, fields);
	}

	text = json_dumps(record, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text)
		goto out;
	size_t length = strlen(text);
	line = malloc(length + 1);
	if (!line)
		goto out;
	memcpy(line, text, length);
	line[length] = '\n';
	write_line(line, length + 1);
out:
	free(line);
	free(text);
	json_decref(fields);
	json_decref(record);
	errno = saved_errno;
}
