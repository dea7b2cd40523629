/* For tests that need a real full disk: runs body in a forked child with a
 * tmpfs of `size` mounted at mount_point in a private mount namespace (gone
 * with the child).  body returns NULL, or what failed.  Include after cmocka.h. */
#ifndef SANDBOX_INIT_TESTS_TINY_TMPFS_H
#define SANDBOX_INIT_TESTS_TINY_TMPFS_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TINY_TMPFS_SKIP 77

static void tiny_tmpfs_child(const char *mount_point, const char *options,
			     const char *(*body)(const char *mount_point), int report)
{
	if (unshare(CLONE_NEWNS) < 0) {
		dprintf(report, "skipped: unshare(CLONE_NEWNS): %s", strerror(errno));
		_exit(TINY_TMPFS_SKIP);
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", mount_point, "tmpfs", MS_NOSUID | MS_NODEV, options) < 0) {
		dprintf(report, "skipped: mounting a tmpfs: %s", strerror(errno));
		_exit(TINY_TMPFS_SKIP);
	}
	const char *failure = body(mount_point);
	if (failure) {
		dprintf(report, "%s", failure);
		_exit(1);
	}
	_exit(0);
}

/* Fails or skips the calling cmocka test as the child says. */
static inline void run_in_tiny_tmpfs(const char *mount_point, const char *options,
				     const char *(*body)(const char *mount_point))
{
	char message[600] = { 0 };
	int report[2], status;

	assert_int_equal(mkdir(mount_point, 0700), 0);
	assert_int_equal(pipe2(report, O_CLOEXEC), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(report[0]);
		tiny_tmpfs_child(mount_point, options, body, report[1]);
	}
	close(report[1]);
	ssize_t got = read(report[0], message, sizeof(message) - 1);
	(void)got;
	close(report[0]);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == TINY_TMPFS_SKIP) {
		print_message("%s\n", message);
		skip();
	}
	if (WEXITSTATUS(status) != 0)
		fail_msg("in the tmpfs child: %s", message);
}

#endif
