/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench/fcgi-trivial: the ceiling of the FastCGI hop for bench/ingest (leg B).
 * A libfcgi responder set up as payhook-fcgi is (threads sharing one unix
 * socket, the same backlog, the same idle bound on kept connections) that
 * reads the body and answers 200 with payhook's accepted body, and does
 * nothing else: no JSON, no Redis.
 *
 *	fcgi-trivial -l unix:/path [-t THREADS] [-i IDLE_TIMEOUT_MS]
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#define TRIVIAL_BACKLOG 1024
#define TRIVIAL_THREADS_MAX 256

static int trivial_fd;
static long trivial_idle_ms = 1000;

static const char trivial_response[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "\r\n"
    "{\"status\":\"accepted\"}\n";

/* Accept and answer requests forever. */
static void *
trivial_worker(void *arg)
{
	FCGX_Request req;
	char buf[16384];
	struct timeval tv;

	(void)arg;
	if (FCGX_InitRequest(&req, trivial_fd, 0) != 0)
		return NULL;
	for (;;) {
		if (FCGX_Accept_r(&req) < 0) {
			usleep(10000);
			continue;
		}
		/* As payhook-fcgi: an idle kept connection frees its thread. */
		tv.tv_sec = trivial_idle_ms / 1000;
		tv.tv_usec = (trivial_idle_ms % 1000) * 1000;
		if (req.ipcFd >= 0)
			(void)setsockopt(req.ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		while (FCGX_GetStr(buf, sizeof buf, req.in) > 0)
			;
		FCGX_PutStr(trivial_response, (int)sizeof trivial_response - 1, req.out);
		FCGX_Finish_r(&req);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	const char *addr = NULL;
	long threads = 4, i;
	pthread_t t;
	sigset_t set;
	int c, sig;

	while ((c = getopt(argc, argv, "l:t:i:")) != -1) {
		switch (c) {
		case 'l':
			addr = optarg;
			break;
		case 't':
			threads = strtol(optarg, NULL, 10);
			break;
		case 'i':
			trivial_idle_ms = strtol(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	if (addr == NULL || strncmp(addr, "unix:/", 6) != 0 || threads < 1 ||
	    threads > TRIVIAL_THREADS_MAX || trivial_idle_ms < 1)
		goto usage;
	if (FCGX_Init() != 0) {
		fprintf(stderr, "fcgi-trivial: FCGX_Init failed\n");
		return 1;
	}
	trivial_fd = FCGX_OpenSocket(addr + 5, TRIVIAL_BACKLOG);
	if (trivial_fd < 0 || chmod(addr + 5, 0666) != 0) {
		fprintf(stderr, "fcgi-trivial: %s: %s\n", addr, strerror(errno));
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (i = 0; i < threads; i++) {
		if (pthread_create(&t, NULL, trivial_worker, NULL) != 0) {
			fprintf(stderr, "fcgi-trivial: cannot start thread\n");
			return 1;
		}
	}
	do {
		if (sigwait(&set, &sig) != 0)
			sig = 0;
	} while (sig != SIGTERM && sig != SIGINT);
	unlink(addr + 5);
	_exit(0);
usage:
	fprintf(stderr, "usage: fcgi-trivial -l unix:/path [-t THREADS] [-i IDLE_TIMEOUT_MS]\n");
	return 2;
}
