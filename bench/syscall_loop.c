/* Benchmark workload: times a loop of one system call and prints ns per call.
 *   syscall-loop getppid|openat ITERATIONS [allow-all-filter]
 * allow-all-filter first installs a one-instruction seccomp filter that allows
 * everything: the floor any seccomp filter costs on this kernel. */
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double seconds(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4)
		return 2;
	if (argc == 4 && strcmp(argv[3], "allow-all-filter") == 0) {
		struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
		struct sock_fprog program = { .len = 1, .filter = &allow };
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) < 0)
			return perror("seccomp"), 1;
	}
	long iterations = atol(argv[2]);
	int openat_loop = strcmp(argv[1], "openat") == 0;
	double start = seconds();
	for (long i = 0; i < iterations; i++) {
		if (openat_loop) {
			int fd = (int)syscall(SYS_openat, AT_FDCWD, "/usr/lib/os-release", O_RDONLY | O_CLOEXEC);
			if (fd >= 0)
				close(fd);
		} else {
			syscall(SYS_getppid);
		}
	}
	printf("%.1f\n", (seconds() - start) * 1e9 / (double)iterations);
	return 0;
}
