#ifndef CKATOSIMD_H
#define CKATOSIMD_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU runs `kato_lcs4_avx2` (AVX2 and the OS saving YMM state), else 0.
int kato_simd_has_avx2(void);

/// Bit-parallel LCS (Allison–Dix / Hyyrö, one 64-bit word) of one query against four ASCII texts at
/// once, over their first `n` characters: `v[0..3]` are the texts' bit vectors on entry and on exit.
/// `table[c]` is the query's match mask of character c (c < 128; every text byte must be < 128).
/// Exactly the integer arithmetic of the scalar loop (`u = v & pm; v = (v + u) | (v - u)` per lane),
/// so the results are the scalar ones bit for bit. Call only when `kato_simd_has_avx2()` is 1.
void kato_lcs4_avx2(const uint64_t *table, const uint8_t *a, const uint8_t *b, const uint8_t *c,
                    const uint8_t *d, size_t n, uint64_t v[4]);

/// 1 when this CPU runs `kato_lcs8_avx512` (AVX512F, AVX512BW and AVX512_VBMI, and the OS saving
/// the ZMM and opmask state), else 0.
int kato_simd_has_avx512(void);

/// The same bit-parallel LCS as `kato_lcs4_avx2`, for eight ASCII texts at once (`texts[0..7]`),
/// over their first `n` characters: `v[0..7]` are their bit vectors on entry and on exit. The
/// query's alphabet is given compressed: `charIndex[c]` (c < 128) is 0 for a character not in the
/// query, else an index 1…15, and `masks[index]` its match mask (`masks[0]` = 0; 16 entries). So a
/// query of at most 15 distinct ASCII characters; every text byte must be < 128. Exactly the integer
/// arithmetic of the scalar loop per lane. Call only when `kato_simd_has_avx512()` is 1.
void kato_lcs8_avx512(const uint8_t *charIndex, const uint64_t *masks, const uint8_t *const *texts, size_t n,
                      uint64_t v[8]);

/// A hint to bring the cache line at `p` into the cache ahead of its use (no effect on results; `p`
/// need not be dereferenceable). The scoring issues it for each candidate's packed pattern buffer
/// while it walks the candidates in id order, so that the similarity pass, which visits them in
/// length order, finds them in flight instead of missing one group of four at a time.
static inline void kato_prefetch(const void *p) {
#if defined(__clang__) || defined(__GNUC__)
    __builtin_prefetch(p, 0, 3);
#else
    (void)p;
#endif
}

#endif
