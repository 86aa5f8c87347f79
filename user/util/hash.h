/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * FNV-1a (64-bit) for user space's hash tables and fingerprints. The caller chooses the seed
 * and what goes in between strings, so each use keeps the exact values it always had. The BPF
 * side keeps its own (bpf/common.bpf.h): the verifier wants its loops shaped differently.
 */
#ifndef TG_HASH_H
#define TG_HASH_H

#include <stdint.h>

#define TG_FNV1A_BASIS 0xcbf29ce484222325ULL /* FNV's 64-bit offset basis, 14695981039346656037 */
#define TG_FNV1A_PRIME 0x100000001b3ULL
/*
 * The basis the report's tables and SARIF fingerprints have always used: FNV's with its last
 * digit lost. Any nonzero basis hashes as well, and a fingerprint must not change between
 * versions (a viewer would see every result as new), so it stays.
 */
#define TG_FNV1A_BASIS_REPORT 1469598103934665603ULL
/* Folded in between strings: no byte equals it, so ("ab", "") and ("a", "b") differ. */
#define TG_FNV1A_SEP 0x100u

/* h with one value folded in: a byte (0..255) or TG_FNV1A_SEP. */
static inline uint64_t tg_fnv1a_step(uint64_t h, uint32_t c)
{
	return (h ^ c) * TG_FNV1A_PRIME;
}

/* h with each byte of the NUL-terminated s folded in, in order; NULL folds in nothing. */
static inline uint64_t tg_fnv1a_str(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = tg_fnv1a_step(h, (unsigned char)*s);
	return h;
}

#endif
