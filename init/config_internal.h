/* Shared by the configuration's files.  Internal to init/. */
#ifndef SANDBOX_INIT_CONFIG_INTERNAL_H
#define SANDBOX_INIT_CONFIG_INTERNAL_H

#include <stddef.h>

/* Formats one line into error and returns -EINVAL. */
__attribute__((format(printf, 3, 4)))
int config_fail(char *error, size_t size, const char *format, ...);

#endif
