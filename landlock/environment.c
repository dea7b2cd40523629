#include "landlock/environment.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What a turn executor needs (contract, section 3): the usual locale and
 * shell variables, the proxy and CA settings OpenShell injects, the session's
 * identity, and the model's settings. */
static const char *const allowed_patterns[] = {
	"PATH", "HOME", "USER", "LANG", "LC_*", "TZ", "TERM",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS",
	"KARTOGRAPH_SESSION_ID", "KARTOGRAPH_TENANT_ID", "KARTOGRAPH_KNOWLEDGE_GRAPH_ID",
	"KARTOGRAPH_USER_ID", "KARTOGRAPH_SESSION_MODE", "KARTOGRAPH_WORKSPACE_DIR",
	"KARTOGRAPH_API_BASE_URL", "KARTOGRAPH_AGENT_*",
	"ANTHROPIC_*", "CLAUDE_CODE_*", "CLOUD_ML_REGION", "GOOGLE_CLOUD_*",
	NULL,
};

/* The runtime token authenticates callers to this sandbox and a workload
 * token or signing key would let the workload mint or replay its own
 * authority.  Compared ignoring case so that "--pass-env '*'" cannot carry a
 * differently spelled copy across. */
static const char *const secret_prefixes[] = {
	"KARTOGRAPH_RUNTIME_AUTH_TOKEN",
	"KARTOGRAPH_WORKLOAD_TOKEN",
};
#define SECRET_INFIX "SIGNING_KEY"

/* The supervisor's own settings (spool directory, gateway URL, mTLS key
 * paths) tell a workload where the supervisor keeps what it must not touch,
 * and no workload needs them. */
#define SUPERVISOR_PREFIX "SANDBOX_INIT_"

#define ARRAY_LENGTH(array) (sizeof(array) / sizeof((array)[0]))

struct environment_builder {
	char **envp;
	size_t used;
	size_t dropped;
	json_t *passed;
};

static bool has_prefix_ignoring_case(const char *name, const char *prefix)
{
	return strncasecmp(name, prefix, strlen(prefix)) == 0;
}

bool environment_is_secret(const char *name)
{
	for (size_t i = 0; i < ARRAY_LENGTH(secret_prefixes); i++) {
		if (has_prefix_ignoring_case(name, secret_prefixes[i]))
			return true;
	}
	return strcasestr(name, SECRET_INFIX) != NULL;
}

static bool is_denied(const char *name)
{
	return environment_is_secret(name) || has_prefix_ignoring_case(name, SUPERVISOR_PREFIX);
}

static bool matches_any(const char *name, const char *const *patterns)
{
	for (size_t i = 0; patterns && patterns[i]; i++) {
		if (fnmatch(patterns[i], name, 0) == 0)
			return true;
	}
	return false;
}

/* Names outside printable ASCII are dropped: they would not be valid JSON in
 * the receipt, and control bytes in a name are a log-injection vector. */
static bool name_is_printable(const char *name)
{
	for (const char *c = name; *c; c++) {
		if (*c < '!' || *c > '~')
			return false;
	}
	return true;
}

static bool name_is_allowed(const char *name, const char *const *pass_patterns)
{
	if (!name_is_printable(name) || is_denied(name))
		return false;
	return matches_any(name, allowed_patterns) || matches_any(name, pass_patterns);
}

static bool already_passed(const struct environment_builder *builder, const char *name)
{
	size_t length = strlen(name);

	for (size_t i = 0; i < builder->used; i++) {
		if (strncmp(builder->envp[i], name, length) == 0 && builder->envp[i][length] == '=')
			return true;
	}
	return false;
}

static int pass(struct environment_builder *builder, const char *name, const char *entry)
{
	char *copy = strdup(entry);

	if (!copy || json_array_append_new(builder->passed, json_string(name)) < 0) {
		free(copy);
		return -ENOMEM;
	}
	builder->envp[builder->used++] = copy;
	return 0;
}

static int consider(struct environment_builder *builder, const char *entry,
		    const char *const *pass_patterns)
{
	const char *equals = strchr(entry, '=');
	char *name;
	int rc = 0;

	if (!equals || equals == entry) {
		builder->dropped++;
		return 0;
	}
	name = strndup(entry, (size_t)(equals - entry));
	if (!name)
		return -ENOMEM;
	if (name_is_allowed(name, pass_patterns) && !already_passed(builder, name))
		rc = pass(builder, name, entry);
	else
		builder->dropped++;
	free(name);
	return rc;
}

static int validate_patterns(const char *const *pass_patterns, struct confinement_error *error)
{
	for (size_t i = 0; pass_patterns && pass_patterns[i]; i++) {
		const char *pattern = pass_patterns[i];
		if (pattern[0] != '\0' && !strchr(pattern, '='))
			continue;
		if (error)
			snprintf(error->message, sizeof(error->message),
				 "--pass-env pattern \"%s\": %s", pattern,
				 pattern[0] ? "matches names, which never contain '='"
					    : "is empty");
		return -EINVAL;
	}
	return 0;
}

static size_t count_entries(const char *const *entries)
{
	size_t count = 0;

	while (entries && entries[count])
		count++;
	return count;
}

static json_t *build_receipt(struct environment_builder *builder, bool path_defaulted)
{
	return json_pack("{s:O, s:I, s:s}", "passed", builder->passed, "dropped",
			 (json_int_t)builder->dropped, "path",
			 path_defaulted ? "default" : "inherited");
}

int environment_build(const char *const *supervisor_environment,
		      const char *const *pass_patterns, struct environment_plan *out,
		      struct confinement_error *error)
{
	size_t count = count_entries(supervisor_environment);
	struct environment_builder builder = { 0 };
	bool path_defaulted = false;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = validate_patterns(pass_patterns, error);
	if (rc < 0)
		return rc;
	rc = -ENOMEM;
	/* Room for every entry, a default PATH and the terminating NULL. */
	builder.envp = calloc(count + 2, sizeof(*builder.envp));
	builder.passed = json_array();
	if (!builder.envp || !builder.passed)
		goto out;
	for (size_t i = 0; i < count; i++) {
		rc = consider(&builder, supervisor_environment[i], pass_patterns);
		if (rc < 0)
			goto out;
	}
	if (!already_passed(&builder, "PATH")) {
		path_defaulted = true;
		rc = pass(&builder, "PATH", "PATH=" ENVIRONMENT_DEFAULT_PATH);
		if (rc < 0)
			goto out;
	}
	out->receipt = build_receipt(&builder, path_defaulted);
	rc = out->receipt ? 0 : -ENOMEM;
out:
	json_decref(builder.passed);
	out->envp = builder.envp;
	if (rc == -ENOMEM && error)
		snprintf(error->message, sizeof(error->message), "environment: out of memory");
	if (rc < 0)
		environment_release(out);
	return rc;
}

void environment_release(struct environment_plan *plan)
{
	for (size_t i = 0; plan->envp && plan->envp[i]; i++)
		free(plan->envp[i]);
	free(plan->envp);
	json_decref(plan->receipt);
	plan->envp = NULL;
	plan->receipt = NULL;
}
