/* Structured logging: one JSON object per line on stderr.
 *
 * Only the supervisor's own modules log; library-like code (policy, JWT, spool)
 * returns errors and lets its caller decide.  Never pass a secret as a field. */
#ifndef SANDBOX_INIT_LOG_H
#define SANDBOX_INIT_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* "debug", "info", "warn" (or "warning"), "error"; returns 0 or -EINVAL. */
int log_set_level_name(const char *name);
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);

/* Writes {"time":..., "level":..., "msg": message, ...fields} as one line.
 * fields_format is a jansson json_pack() object format such as "{s:i, s:s}",
 * or NULL for no fields.  Preserves errno. */
void log_write(enum log_level level, const char *message, const char *fields_format, ...);

#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
