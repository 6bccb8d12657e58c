/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* The spool's record format, append, bounds, locks and group commit (no Redis: replay is tested
 * by tests/integration/spool-*.sh). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "payhook.h"
#include "spool.h"
#include "tap.h"

#define THREADS 8
#define PER_THREAD 200

static char dir[PATH_MAX];

/* The one segment of dir, into path; how many there are. */
static int
segment_of(const char *d, char *path, size_t len)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	if (dp == NULL)
		return -1;
	while ((e = readdir(dp)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l > 4 && strcmp(e->d_name + l - 4, ".seg") == 0) {
			snprintf(path, len, "%s/%s", d, e->d_name);
			n++;
		}
	}
	closedir(dp);
	return n;
}

/* Read a whole file; caller frees. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Count the valid records of a buffer; -1 if anything is not a valid record. */
static long
count_records(const unsigned char *m, size_t len)
{
	size_t off = 0;
	long n = 0;

	while (off < len) {
		uint32_t plen;

		if (len - off < PH_SPOOL_HEADER || memcmp(m + off, PH_SPOOL_MAGIC, 4) != 0)
			return -1;
		plen = le32(m + off + 4);
		if (plen > len - off - PH_SPOOL_HEADER ||
		    spool_crc32c(spool_crc32c(0, m + off + 4, 4), m + off + PH_SPOOL_HEADER,
		        plen) != le32(m + off + 8))
			return -1;
		off += PH_SPOOL_HEADER + plen;
		n++;
	}
	return n;
}

static void
test_format(void)
{
	char buf[256];
	const char body[] = "{\"id\":\"a\"}";
	long n;
	uint64_t at = 0;

	is_int(spool_crc32c(0, "123456789", 9), 0xE3069283u, "CRC-32C check value of 123456789");
	is_int(spool_crc32c(spool_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u,
	    "CRC-32C continues over parts");

	n = spool_record(buf, sizeof buf, "cielo", 1700000000123ull, body, sizeof body - 1);
	is_int(n, PH_SPOOL_HEADER + 8 + 1 + 5 + (long)sizeof body - 1, "record length");
	ok(memcmp(buf, "PHS1", 4) == 0, "record starts with the magic");
	is_int(le32((unsigned char *)buf + 4), 8 + 1 + 5 + sizeof body - 1, "payload length");
	for (int i = 7; i >= 0; i--)
		at = at << 8 | (unsigned char)buf[PH_SPOOL_HEADER + i];
	ok(at == 1700000000123ull, "received_at little-endian");
	is_int(buf[PH_SPOOL_HEADER + 8], 5, "provider name length");
	ok(memcmp(buf + PH_SPOOL_HEADER + 9, "cielo", 5) == 0, "provider name");
	ok(memcmp(buf + PH_SPOOL_HEADER + 14, body, sizeof body - 1) == 0, "raw body last");
	is_int(count_records((unsigned char *)buf, (size_t)n), 1, "the checksum covers it");
	buf[n - 1] ^= 1;
	is_int(count_records((unsigned char *)buf, (size_t)n), -1, "a flipped bit breaks it");
	ok(spool_record(buf, 20, "cielo", 1, body, sizeof body - 1) == -1,
	    "a buffer too small: -1");
	ok(spool_record(buf, sizeof buf, "", 1, body, sizeof body - 1) == -1,
	    "no provider name: -1");
}

struct put_arg {
	struct ph_spool *s;
	int failed;
};

/* Append PER_THREAD records. */
static void *
put_many(void *arg)
{
	struct put_arg *a = arg;
	char body[64], err[256];

	for (int i = 0; i < PER_THREAD; i++) {
		snprintf(body, sizeof body, "{\"id\":\"t%p-%d\"}", (void *)a, i);
		if (spool_put(a->s, "oneinfinite", 1, body, strlen(body), err, sizeof err) !=
		    PH_SPOOL_OK)
			a->failed++;
	}
	return NULL;
}

static void
test_put(void)
{
	struct ph_spool *s;
	struct ph_spool_status st;
	char path[PATH_MAX], err[256], sub[PATH_MAX + 8];
	unsigned char *m;
	size_t len;
	int fd;
	pthread_t t[THREADS];
	struct put_arg a[THREADS];

	snprintf(sub, sizeof sub, "%s/a", dir);
	mkdir(sub, 0700);
	s = spool_open(sub, 1 << 20);
	ok(s != NULL, "spool_open");
	is_int(segment_of(sub, path, sizeof path), 0, "no segment before the first record");
	ok(!spool_has_open(s), "nothing open yet");
	is_int(spool_put(s, "oneinfinite", 42, "{}", 2, err, sizeof err), PH_SPOOL_OK, "put: ok");
	is_int(segment_of(sub, path, sizeof path), 1, "one segment");
	ok(spool_has_open(s), "it is open");
	m = slurp(path, &len);
	is_int(count_records(m, len), 1, "it holds the record, whole");
	free(m);
	{
		char scratch[64], tiny[4];

		is_int(spool_put_buf(s, "oneinfinite", 43, "{\"a\":1}", 7, scratch, sizeof scratch,
		           err, sizeof err),
		    PH_SPOOL_OK, "put_buf: built in the caller's buffer");
		is_int(spool_put_buf(s, "oneinfinite", 44, "{\"a\":2}", 7, tiny, sizeof tiny, err,
		           sizeof err),
		    PH_SPOOL_OK, "put_buf: a buffer too small is not used");
		m = slurp(path, &len);
		is_int(count_records(m, len), 3, "the segment holds all 3 records, whole");
		free(m);
	}
	ok(spool_status(sub, &st) == 0 && st.segments == 1 && st.bytes == (long long)len &&
	        st.writable && st.oldest_ms >= 0,
	    "status: one segment, its bytes, writable, an age");

	fd = open(path, O_RDONLY);
	ok(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK,
	    "an open segment is locked: no replayer can take it");
	spool_seal(s);
	ok(!spool_has_open(s), "sealed: nothing open");
	ok(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "a sealed segment can be taken");
	if (fd >= 0)
		close(fd);
	unlink(path);

	/* Threads appending at once: every record whole, in one segment. */
	for (int i = 0; i < THREADS; i++) {
		a[i].s = s;
		a[i].failed = 0;
		pthread_create(&t[i], NULL, put_many, &a[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 1; i < THREADS; i++)
		a[0].failed += a[i].failed;
	is_int(a[0].failed, 0, "%d threads x %d puts: all ok", THREADS, PER_THREAD);
	is_int(spool_counts(s)->spooled, 3 + THREADS * PER_THREAD, "spooled counted");
	ok(spool_counts(s)->flushes >= 1 && spool_counts(s)->flushes <= 3 + THREADS * PER_THREAD,
	    "at most one flush per record");
	printf("# %ld records in %ld flushes (group commit)\n", (long)spool_counts(s)->spooled,
	    (long)spool_counts(s)->flushes);
	spool_close(s);
	is_int(segment_of(sub, path, sizeof path), 1, "one new segment");
	m = slurp(path, &len);
	is_int(count_records(m, len), THREADS * PER_THREAD, "every record whole and valid");
	free(m);
}

static void
test_bounds(void)
{
	struct ph_spool *s;
	char err[256], sub[PATH_MAX + 8], path[PATH_MAX];
	char body[1000];

	memset(body, 'x', sizeof body);
	snprintf(sub, sizeof sub, "%s/b", dir);
	mkdir(sub, 0700);
	s = spool_open(sub, 2500);
	is_int(spool_put(s, "cielo", 1, body, sizeof body, err, sizeof err), PH_SPOOL_OK,
	    "under spool_max_bytes: ok");
	is_int(spool_put(s, "cielo", 1, body, sizeof body, err, sizeof err), PH_SPOOL_OK,
	    "still under: ok");
	is_int(spool_put(s, "cielo", 1, body, sizeof body, err, sizeof err), PH_SPOOL_FULL,
	    "over spool_max_bytes: full");
	ok(strstr(err, "spool full") != NULL, "the reason says full (%s)", err);
	spool_set_used(s, 0);
	is_int(spool_put(s, "cielo", 1, body, sizeof body, err, sizeof err), PH_SPOOL_OK,
	    "room again after a scan found it: ok");
	spool_close(s);

	snprintf(sub, sizeof sub, "%s/missing", dir);
	s = spool_open(sub, 1 << 20);
	is_int(spool_put(s, "cielo", 1, "{}", 2, err, sizeof err), PH_SPOOL_FAILED,
	    "a missing directory: failed");
	ok(strstr(err, sub) != NULL && strstr(err, "No such file") != NULL,
	    "the reason names the directory and the cause (%s)", err);
	is_int(segment_of(dir, path, sizeof path), 0, "nothing written elsewhere");
	spool_close(s);
}

/*
 * Issue 17, item 5: a process must never replace another's segment. Two
 * processes of the same pid (containers sharing a spool volume) pick the same
 * name in the same millisecond; here every name this process could pick for
 * its first segment in the next two seconds is taken beforehand.
 */
static void
test_name_taken(void)
{
	char sub[PATH_MAX + 16], path[PATH_MAX + 300], err[256], buf[8];
	uint64_t now = ph_now_ms(), ms;
	struct ph_spool *s;
	int fd, intact = 1, total = 0;
	DIR *dp;
	struct dirent *e;

	err[0] = '\0';
	snprintf(sub, sizeof sub, "%s/taken", dir);
	mkdir(sub, 0700);
	for (ms = now; ms < now + 2000; ms++) {
		snprintf(path, sizeof path, "%s/%013llu-%ld-1.seg", sub, (unsigned long long)ms,
		    (long)getpid());
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd >= 0) {
			if (write(fd, "OTHER", 5) != 5)
				intact = 0;
			close(fd);
		}
	}
	s = spool_open(sub, 1 << 20);
	is_int(spool_put(s, "oneinfinite", 42, "{}", 2, err, sizeof err), PH_SPOOL_OK,
	    "put with its first segment name taken: ok (%s)", err);
	spool_close(s);
	dp = opendir(sub);
	while (dp != NULL && (e = readdir(dp)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l < 4 || strcmp(e->d_name + l - 4, ".seg") != 0)
			continue;
		total++;
		if (strstr(e->d_name, "-1.seg") == NULL)
			continue; /* ours */
		snprintf(path, sizeof path, "%s/%s", sub, e->d_name);
		fd = open(path, O_RDONLY);
		memset(buf, 0, sizeof buf);
		if (fd < 0 || read(fd, buf, sizeof buf) != 5 || memcmp(buf, "OTHER", 5) != 0)
			intact = 0;
		if (fd >= 0)
			close(fd);
	}
	if (dp != NULL)
		closedir(dp);
	ok(intact, "no other process's segment was replaced");
	is_int(total, 2001, "the new segment has a name of its own");
}

int
main(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(dir, sizeof dir, "%s/payhook-spool.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_format();
	test_put();
	test_bounds();
	test_name_taken();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
