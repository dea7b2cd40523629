/* Test workload: tries one thing a confined workload must (or may) do and
 * prints "ok" or "errno=NAME".  A seccomp kill shows as death by SIGSYS.
 *   escape OPERATION [ARGUMENTS...]      (see the table in main) */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

static int report(long result)
{
	if (result < 0)
		printf("errno=%s\n", strerrorname_np(errno));
	else
		printf("ok\n");
	return 0;
}

static int loopback_socket_op(int port, int binding)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return report(-1);
	struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				       .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int result = binding ? bind(fd, (struct sockaddr *)&address, sizeof(address))
			     : connect(fd, (struct sockaddr *)&address, sizeof(address));
	return report(result);
}

static int socket_op(const char *kind)
{
	if (strcmp(kind, "mptcp") == 0)
		return report(socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP));
	if (strcmp(kind, "sctp") == 0)
		return report(socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP));
	if (strcmp(kind, "packet") == 0)
		return report(socket(AF_PACKET, SOCK_RAW, 0));
	if (strcmp(kind, "raw") == 0)
		return report(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
	if (strcmp(kind, "netlink-route") == 0)
		return report(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
	if (strcmp(kind, "netlink-uevent") == 0)
		return report(socket(AF_NETLINK, SOCK_RAW, NETLINK_KOBJECT_UEVENT));
	if (strcmp(kind, "inet-stream") == 0)
		return report(socket(AF_INET, SOCK_STREAM, 0));
	if (strcmp(kind, "vsock") == 0)
		return report(socket(AF_VSOCK, SOCK_STREAM, 0));
	fprintf(stderr, "escape: unknown socket kind %s\n", kind);
	return 2;
}

/* Through the i386 entry point: eax 20 is getpid there. */
static long int80_getpid(void)
{
	long result = 20;
	__asm__ volatile("int $0x80" : "+a"(result) : : "memory");
	return result;
}

static int exec_op(char **argv)
{
	execv(argv[0], argv);
	return report(-1);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *op = argv[1];
	const char *a = argc > 2 ? argv[2] : "";
	const char *b = argc > 3 ? argv[3] : "";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (strcmp(op, "read") == 0) {
		int fd = open(a, O_RDONLY | O_CLOEXEC);
		char byte;
		return report(fd < 0 ? -1 : read(fd, &byte, 1));
	}
	if (strcmp(op, "write") == 0)
		return report(open(a, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	if (strcmp(op, "truncate") == 0)
		return report(truncate(a, 0));
	if (strcmp(op, "rename") == 0)
		return report(rename(a, b));
	if (strcmp(op, "link") == 0)
		return report(link(a, b));
	if (strcmp(op, "unlink") == 0)
		return report(unlink(a));
	if (strcmp(op, "mknod-char") == 0)
		return report(mknod(a, S_IFCHR | 0600, makedev(1, 3)));
	if (strcmp(op, "exec") == 0)
		return exec_op(argv + 2);
	if (strcmp(op, "connect") == 0)
		return loopback_socket_op(atoi(a), 0);
	if (strcmp(op, "bind") == 0)
		return loopback_socket_op(atoi(a), 1);
	if (strcmp(op, "socket") == 0)
		return socket_op(a);
	if (strcmp(op, "io_uring") == 0)
		return report(syscall(SYS_io_uring_setup, 1, calloc(1, 256)));
	if (strcmp(op, "unshare-user") == 0)
		return report(unshare(CLONE_NEWUSER));
	if (strcmp(op, "unshare-net") == 0)
		return report(unshare(CLONE_NEWNET));
	if (strcmp(op, "mount") == 0)
		return report(mount("none", "/tmp", "tmpfs", 0, NULL));
	if (strcmp(op, "ptrace-pid1") == 0)
		return report(ptrace(PTRACE_ATTACH, 1, NULL, NULL));
	if (strcmp(op, "kill-pid1") == 0)
		return report(kill(1, SIGKILL));
	if (strcmp(op, "kill-own-child") == 0) {
		pid_t child = fork();
		if (child == 0) {
			pause();
			_exit(0);
		}
		int result = kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return report(result);
	}
	if (strcmp(op, "tiocsti") == 0) {
		char c = 'x';
		return report(ioctl(0, TIOCSTI, &c));
	}
	if (strcmp(op, "tiocgwinsz") == 0) {
		struct winsize size;
		return report(ioctl(0, TIOCGWINSZ, &size));
	}
	if (strcmp(op, "x32") == 0)
		return report(syscall(0x40000000 | SYS_getppid));
	if (strcmp(op, "int80") == 0)
		return report(int80_getpid());
	if (strcmp(op, "getppid") == 0)
		return report(getppid());
	fprintf(stderr, "escape: unknown operation %s\n", op);
	return 2;
}
