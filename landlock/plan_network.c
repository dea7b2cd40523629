#include "landlock/plan_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int port_set_add(struct port_set *set, uint16_t port)
{
	size_t at = 0;
	while (at < set->count && set->ports[at] < port)
		at++;
	if (at < set->count && set->ports[at] == port)
		return 0;
	uint16_t *ports = reallocarray(set->ports, set->count + 1, sizeof(*ports));
	if (!ports)
		return -ENOMEM;
	memmove(ports + at + 1, ports + at, (set->count - at) * sizeof(*ports));
	ports[at] = port;
	set->ports = ports;
	set->count++;
	return 0;
}

void port_set_release(struct port_set *set)
{
	free(set->ports);
	set->ports = NULL;
	set->count = 0;
}

static int parse_port(const char *text, size_t length, uint16_t *port)
{
	unsigned value = 0;
	if (length == 0 || length > 5)
		return -EINVAL;
	for (size_t i = 0; i < length; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -EINVAL;
		value = value * 10 + (unsigned)(text[i] - '0');
	}
	if (value == 0 || value > 65535)
		return -EINVAL;
	*port = (uint16_t)value;
	return 0;
}

int plan_proxy_port(const char *url, uint16_t *port)
{
	uint16_t scheme_port = 80;
	const char *authority = url;
	const char *separator = strstr(url, "://");
	if (separator) {
		size_t scheme_length = (size_t)(separator - url);
		if (scheme_length == 5 && strncasecmp(url, "https", 5) == 0)
			scheme_port = 443;
		else if (!(scheme_length == 4 && strncasecmp(url, "http", 4) == 0))
			return -EINVAL; /* socks and friends: not a port Landlock can reason about here */
		authority = separator + 3;
	}
	size_t length = strcspn(authority, "/?#");
	const char *at = memchr(authority, '@', length);
	if (at) {
		length -= (size_t)(at + 1 - authority);
		authority = at + 1;
	}
	if (length == 0)
		return -EINVAL;

	const char *host_end = authority + length;
	if (authority[0] == '[') {
		host_end = memchr(authority, ']', length);
		if (!host_end)
			return -EINVAL;
		host_end++;
	} else {
		const char *colon = memchr(authority, ':', length);
		if (colon)
			host_end = colon;
	}
	if (host_end == authority + length) {
		*port = scheme_port;
		return 0;
	}
	if (*host_end != ':')
		return -EINVAL;
	return parse_port(host_end + 1, (size_t)(authority + length - host_end - 1), port);
}

bool plan_path_within(const char *path, const char *directory)
{
	size_t length = strlen(directory);
	if (strcmp(directory, "/") == 0)
		return true;
	return strncmp(path, directory, length) == 0 && (path[length] == '\0' || path[length] == '/');
}
