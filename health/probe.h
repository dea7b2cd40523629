/* `sandbox-init probe URL`: one HTTP GET for a container HEALTHCHECK or an
 * exec probe, in images that ship no curl or wget.
 *
 * The request follows no redirect (a health endpoint that redirects is
 * misconfigured, and following it could lead the probe anywhere), speaks
 * only http and https (never file:, so a probe cannot read local files), and
 * always ends within the timeout.  Proxies come from the environment as curl
 * takes them (http_proxy, HTTPS_PROXY, ALL_PROXY, NO_PROXY), except that a
 * loopback host (localhost, 127.0.0.0/8, ::1) is always reached directly: in
 * an OpenShell sandbox HTTPS_PROXY points at the gateway, which cannot reach
 * the sandbox's own loopback. */
#ifndef SANDBOX_INIT_PROBE_H
#define SANDBOX_INIT_PROBE_H

#include <stddef.h>

/* For callers with no timeout of their own: below Docker's HEALTHCHECK default
 * (30 s), so a hung server is reported as such rather than as a killed probe. */
#define PROBE_DEFAULT_TIMEOUT_MS 5000

/* Enough for curl's error messages; a longer reason is cut to reason_size. */
#define PROBE_REASON_SIZE 320

/* GETs url (with its scheme: "http://127.0.0.1:8787/healthz") within
 * timeout_ms milliseconds (> 0) and discards the body.  Returns 0 when the
 * server answered 2xx, 1 otherwise: 3xx, 4xx, 5xx, no answer within the
 * timeout, connection refused, a bad URL or scheme, an invalid timeout.
 * reason (may be NULL) receives one line for the log, in both cases: "HTTP
 * 503", or curl's error such as "Couldn't connect to server: Failed to
 * connect to 127.0.0.1 port 8787 ...".
 *
 * Uses libcurl; call curl_global_init() first if other threads may use curl. */
int probe_run(const char *url, long timeout_ms, char *reason, size_t reason_size);

#endif
