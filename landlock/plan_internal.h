/* Pieces of plan compilation that are worth testing on their own.
 * Internal to landlock/ (and its tests). */
#ifndef SANDBOX_INIT_LANDLOCK_PLAN_INTERNAL_H
#define SANDBOX_INIT_LANDLOCK_PLAN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The TCP port of a proxy URL as HTTP(S)_PROXY holds it ("http://host:3128",
 * "host:3128", "https://[::1]"); the scheme's port when none is written.
 * Returns 0 or -EINVAL. */
int plan_proxy_port(const char *url, uint16_t *port);

/* A sorted set of ports, each once. */
struct port_set {
	uint16_t *ports;
	size_t count;
};

int port_set_add(struct port_set *set, uint16_t port);
void port_set_release(struct port_set *set);

/* True when path is directory or lies beneath it (both absolute, normalised). */
bool plan_path_within(const char *path, const char *directory);

#endif
