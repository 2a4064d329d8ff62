/*
 * bench/tls-load.c: a TLS handshake load client that sends SNI, for
 * bench/serve.sh (openssl s_time sends none).
 *
 *   tls-load -p PORT (-t SECONDS | -a) [-c PROCS] [-s SEED] NAMESFILE
 *
 * Each of PROCS processes (default 2) connects to 127.0.0.1:PORT over and
 * over for SECONDS, each time a full handshake (no session resumption, the
 * server's certificate not verified: the benchmark measures the server)
 * with the SNI name drawn at random from NAMESFILE (one per line), then
 * closes. With -a instead, one handshake for each name, in the file's
 * order, shared out between the processes: a warm-up that fills a cache. Prints "ok N failed M seconds S" on standard output. Exit 0, 1
 * when no handshake succeeded, 2 on usage or setup errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *prog = "tls-load";

static void
usage(void)
{
	fprintf(stderr, "usage: %s -p PORT (-t SECONDS | -a) [-c PROCS] [-s SEED] NAMESFILE\n", prog);
	exit(2);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The names, in one buffer; names[i] points into it. */
static char **
read_names(const char *file, size_t *count)
{
	FILE *f = fopen(file, "r");
	char **names = NULL, *line = NULL;
	size_t n = 0, cap = 0, len = 0;
	ssize_t got;

	if (f == NULL) {
		fprintf(stderr, "%s: %s: %s\n", prog, file, strerror(errno));
		exit(2);
	}
	while ((got = getline(&line, &len, f)) > 0) {
		if (line[got - 1] == '\n')
			line[--got] = '\0';
		if (got == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((names = realloc(names, cap * sizeof(*names))) == NULL) {
				fprintf(stderr, "%s: out of memory\n", prog);
				exit(2);
			}
		}
		if ((names[n++] = strdup(line)) == NULL) {
			fprintf(stderr, "%s: out of memory\n", prog);
			exit(2);
		}
	}
	free(line);
	fclose(f);
	if (n == 0) {
		fprintf(stderr, "%s: %s: no names\n", prog, file);
		exit(2);
	}
	*count = n;
	return names;
}

/* One handshake: 1 when it completed. */
static int
handshake(SSL_CTX *ctx, const struct sockaddr_in *sa, const char *name)
{
	int fd, ok = 0, one = 1;
	SSL *ssl;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return 0;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
		close(fd);
		return 0;
	}
	if ((ssl = SSL_new(ctx)) != NULL) {
		SSL_set_fd(ssl, fd);
		SSL_set_tlsext_host_name(ssl, name);
		ok = SSL_connect(ssl) == 1;
		SSL_free(ssl);
	}
	close(fd);
	return ok;
}

int
main(int argc, char **argv)
{
	int opt, port = 0, procs = 2, pipes[2], all = 0;
	double seconds = 0;
	unsigned seed = 1;
	char **names;
	size_t count;
	struct sockaddr_in sa;
	unsigned long ok = 0, failed = 0;

	while ((opt = getopt(argc, argv, "ap:t:c:s:")) != -1) {
		switch (opt) {
		case 'a': all = 1; break;
		case 'p': port = atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'c': procs = atoi(optarg); break;
		case 's': seed = (unsigned)strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (argc - optind != 1 || port <= 0 || port > 65535 || (seconds <= 0) == !all || procs < 1 || procs > 64)
		usage();
	names = read_names(argv[optind], &count);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (pipe(pipes) != 0) {
		fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
		return 2;
	}
	for (int p = 0; p < procs; p++) {
		pid_t pid = fork();

		if (pid < 0) {
			fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
			return 2;
		}
		if (pid == 0) {
			SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
			unsigned long counts[2] = { 0, 0 };
			double end = now() + seconds;

			if (ctx == NULL)
				_exit(2);
			SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
			SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
			srandom(seed + (unsigned)p * 7919u);
			close(pipes[0]);
			if (all)
				for (size_t i = (size_t)p; i < count; i += (size_t)procs)
					counts[handshake(ctx, &sa, names[i]) ? 0 : 1]++;
			else
				while (now() < end)
					counts[handshake(ctx, &sa, names[(size_t)random() % count]) ? 0 : 1]++;
			if (write(pipes[1], counts, sizeof(counts)) != (ssize_t)sizeof(counts))
				_exit(2);
			SSL_CTX_free(ctx);
			_exit(0);
		}
	}
	close(pipes[1]);
	for (int p = 0; p < procs; p++) {
		unsigned long counts[2];

		if (read(pipes[0], counts, sizeof(counts)) == (ssize_t)sizeof(counts)) {
			ok += counts[0];
			failed += counts[1];
		}
	}
	while (wait(NULL) > 0)
		;
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	printf("ok %lu failed %lu seconds %g\n", ok, failed, seconds);
	return ok > 0 ? 0 : 1;
}
