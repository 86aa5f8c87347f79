/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * SHA-256 as lowercase hex, through OpenSSL's libcrypto (EVP): of a buffer, of a stream fed in
 * pieces, or of a file's bytes. For content hashes a person checks with sha256sum(1): a policy
 * file as loaded, a report's inputs.
 */
#ifndef TG_SHA256_H
#define TG_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define TG_SHA256_HEX 65 /* 64 hex digits and the NUL */

struct tg_sha256; /* a digest in progress */

/* NULL on ENOMEM (or when libcrypto has no SHA-256). */
struct tg_sha256 *tg_sha256_new(void);
void tg_sha256_update(struct tg_sha256 *h, const void *p, size_t n);
/* The digest as hex into out (TG_SHA256_HEX bytes), and h freed. 0, or -1 (out ""). */
int tg_sha256_final(struct tg_sha256 *h, char out[TG_SHA256_HEX]);
void tg_sha256_free(struct tg_sha256 *h);

/* Of n bytes at p. 0, or -1 (out ""). */
int tg_sha256_hex(const void *p, size_t n, char out[TG_SHA256_HEX]);
/* Of the bytes of the open file fd from its start to its end as read now (*size: how many).
 * 0, or -errno (out ""). */
int tg_sha256_fd(int fd, char out[TG_SHA256_HEX], uint64_t *size);

#endif
