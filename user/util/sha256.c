// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * SHA-256 through libcrypto's EVP interface (see sha256.h): the one place tmpguard links
 * OpenSSL for hashing.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "sha256.h"

struct tg_sha256 {
	EVP_MD_CTX *ctx;
};

struct tg_sha256 *tg_sha256_new(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx)
		return NULL;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	/* The context is the handle: no second allocation. */
	return (struct tg_sha256 *)ctx;
}

void tg_sha256_update(struct tg_sha256 *h, const void *p, size_t n)
{
	if (h && n)
		EVP_DigestUpdate((EVP_MD_CTX *)h, p, n);
}

int tg_sha256_final(struct tg_sha256 *h, char out[TG_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	int ok = h && EVP_DigestFinal_ex((EVP_MD_CTX *)h, md, &len) == 1 && len == 32;

	out[0] = 0;
	for (unsigned int i = 0; ok && i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	tg_sha256_free(h);
	return ok ? 0 : -1;
}

void tg_sha256_free(struct tg_sha256 *h)
{
	EVP_MD_CTX_free((EVP_MD_CTX *)h);
}

int tg_sha256_hex(const void *p, size_t n, char out[TG_SHA256_HEX])
{
	struct tg_sha256 *h = tg_sha256_new();

	out[0] = 0;
	if (!h)
		return -1;
	tg_sha256_update(h, p, n);
	return tg_sha256_final(h, out);
}

int tg_sha256_fd(int fd, char out[TG_SHA256_HEX], uint64_t *size)
{
	struct tg_sha256 *h = tg_sha256_new();
	unsigned char buf[65536];
	off_t off = 0;
	ssize_t n;

	out[0] = 0;
	*size = 0;
	if (!h)
		return -ENOMEM;
	/* pread: the caller's file offset stays where it was. */
	while ((n = pread(fd, buf, sizeof(buf), off)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			tg_sha256_free(h);
			return -e;
		}
		tg_sha256_update(h, buf, (size_t)n);
		off += n;
	}
	*size = (uint64_t)off;
	return tg_sha256_final(h, out) ? -ENOMEM : 0;
}
