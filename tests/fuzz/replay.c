/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Replay a fuzz target's corpus without libFuzzer, as a unit test: every file
 * of the corpus directory once through LLVMFuzzerTestOneInput, one TAP line
 * each. A crash found by the fuzzer and saved in tests/fuzz/corpus/ so stays
 * a regression test of every build (plain, sanitizers, valgrind).
 *
 *	test-fuzz-TARGET [DIR]   default $PH_TOP/tests/fuzz/corpus/TARGET
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_TARGET
#error FUZZ_TARGET must name the corpus
#endif
#ifndef FUZZ_SRCDIR
#define FUZZ_SRCDIR "."
#endif

#define REPLAY_MAX (1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Skip dot files. */
static int
replay_filter(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Read a whole file of at most REPLAY_MAX bytes; NULL on failure. Caller frees. */
static uint8_t *
replay_read(const char *path, size_t *len)
{
	uint8_t *buf;
	FILE *f;

	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	buf = malloc(REPLAY_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, REPLAY_MAX + 1, f);
	if (ferror(f) || *len > REPLAY_MAX) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

int
main(int argc, char **argv)
{
	struct dirent **names;
	char dir[4096], path[8192];
	const char *top = getenv("PH_TOP");
	uint8_t *data;
	size_t len;
	int n, i, failed = 0;

	if (argc > 1)
		snprintf(dir, sizeof dir, "%s", argv[1]);
	else
		snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s",
		    top != NULL ? top : FUZZ_SRCDIR, FUZZ_TARGET);
	n = scandir(dir, &names, replay_filter, alphasort);
	if (n <= 0) {
		printf("not ok 1 - corpus %s: no files\n1..1\n", dir);
		return 1;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		data = replay_read(path, &len);
		if (data == NULL) {
			printf("not ok %d - %s %s: cannot read\n", i + 1, FUZZ_TARGET,
			    names[i]->d_name);
			failed++;
		} else {
			/* Flush first: if the target aborts, the line before shows where. */
			fflush(stdout);
			LLVMFuzzerTestOneInput(data, len);
			printf("ok %d - %s corpus %s (%zu bytes)\n", i + 1, FUZZ_TARGET,
			    names[i]->d_name, len);
			free(data);
		}
		free(names[i]);
	}
	free(names);
	printf("1..%d\n", n);
	return failed != 0;
}
