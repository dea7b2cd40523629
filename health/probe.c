#include "health/probe.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

__attribute__((format(printf, 3, 4))) static void set_reason(char *reason, size_t size,
							      const char *format, ...)
{
	va_list args;

	if (!reason || size == 0)
		return;
	va_start(args, format);
	vsnprintf(reason, size, format, args);
	va_end(args);
}

/* Only the status matters; without a write function curl copies the body to
 * stdout, which a HEALTHCHECK's log would keep. */
static size_t discard_body(char *data, size_t size, size_t count, void *context)
{
	(void)data;
	(void)context;
	return size * count;
}

/* RFC 6761 reserves localhost and *.localhost for loopback, and curl
 * resolves them so itself, without asking DNS. */
static bool name_is_localhost(const char *host)
{
	static const char suffix[] = ".localhost";
	size_t length = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	return length > sizeof(suffix) - 1 &&
	       strcasecmp(host + length - (sizeof(suffix) - 1), suffix) == 0;
}

static bool ipv4_is_loopback(const struct in_addr *address)
{
	return (ntohl(address->s_addr) >> 24) == 127;
}

static bool ipv6_is_loopback(const struct in6_addr *address)
{
	if (IN6_IS_ADDR_LOOPBACK(address))
		return true;
	return IN6_IS_ADDR_V4MAPPED(address) && address->s6_addr[12] == 127;
}

/* host as curl's URL parser gives it: IPv6 literals inside brackets. */
static bool host_is_loopback(const char *host)
{
	char literal[INET6_ADDRSTRLEN + 2];
	struct in_addr ipv4;
	struct in6_addr ipv6;
	size_t length = strlen(host);

	if (name_is_localhost(host))
		return true;
	if (inet_pton(AF_INET, host, &ipv4) == 1)
		return ipv4_is_loopback(&ipv4);
	if (length < 2 || host[0] != '[' || host[length - 1] != ']' || length >= sizeof(literal))
		return false;
	memcpy(literal, host + 1, length - 2);
	literal[length - 2] = '\0';
	return inet_pton(AF_INET6, literal, &ipv6) == 1 && ipv6_is_loopback(&ipv6);
}

static bool url_is_loopback(CURLU *url)
{
	char *host = NULL;
	bool loopback = false;

	if (curl_url_get(url, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		loopback = host_is_loopback(host);
	curl_free(host);
	return loopback;
}

static CURLcode configure_transfer(CURL *curl, CURLU *url, long timeout_ms, char *error_buffer)
{
	CURLcode rc;

	if ((rc = curl_easy_setopt(curl, CURLOPT_CURLU, url)) ||
	    (rc = curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L)) ||
	    (rc = curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https")) ||
	    (rc = curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")) ||
	    (rc = curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L)) ||
	    (rc = curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms)) ||
	    /* The default resolver's timeout uses SIGALRM and siglongjmp, which
	     * must not fire inside a process that handles its own signals. */
	    (rc = curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L)) ||
	    (rc = curl_easy_setopt(curl, CURLOPT_USERAGENT, "sandbox-init-probe/" SI_VERSION)) ||
	    (rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body)) ||
	    (rc = curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer)))
		return rc;
	/* An empty proxy disables the environment's proxy for this transfer only. */
	if (url_is_loopback(url))
		rc = curl_easy_setopt(curl, CURLOPT_PROXY, "");
	return rc;
}

static void set_transfer_reason(CURLcode rc, const char *error_buffer, char *reason,
				size_t reason_size)
{
	if (error_buffer[0])
		set_reason(reason, reason_size, "%s: %s", curl_easy_strerror(rc), error_buffer);
	else
		set_reason(reason, reason_size, "%s", curl_easy_strerror(rc));
}

int probe_run(const char *url, long timeout_ms, char *reason, size_t reason_size)
{
	char error_buffer[CURL_ERROR_SIZE] = "";
	CURLU *parsed = NULL;
	CURL *curl = NULL;
	long status = 0;
	int result = 1;

	if (!url) {
		set_reason(reason, reason_size, "no URL");
		goto out;
	}
	/* curl takes 0 as "no timeout"; a health check must always end. */
	if (timeout_ms <= 0) {
		set_reason(reason, reason_size, "invalid timeout %ld ms", timeout_ms);
		goto out;
	}

	parsed = curl_url();
	curl = curl_easy_init();
	if (!parsed || !curl) {
		set_reason(reason, reason_size, "out of memory");
		goto out;
	}
	CURLUcode url_rc = curl_url_set(parsed, CURLUPART_URL, url, 0);
	if (url_rc != CURLUE_OK) {
		set_reason(reason, reason_size, "bad URL: %s", curl_url_strerror(url_rc));
		goto out;
	}

	CURLcode rc = configure_transfer(curl, parsed, timeout_ms, error_buffer);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		rc = curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK) {
		set_transfer_reason(rc, error_buffer, reason, reason_size);
		goto out;
	}

	set_reason(reason, reason_size, "HTTP %ld", status);
	if (status >= 200 && status <= 299)
		result = 0;
out:
	curl_easy_cleanup(curl);
	curl_url_cleanup(parsed);
	return result;
}
