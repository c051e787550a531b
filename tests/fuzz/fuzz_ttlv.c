/*
 * fuzz_ttlv.c - libFuzzer target for the TTLV decoder.
 *
 * Property: ttlv_decode either refuses the input (and returns no tree) or
 * returns a tree that ttlv_encode turns back into exactly the input bytes
 * (the decoder accepts only canonical TTLV: zero padding, exact lengths,
 * Booleans 0/1, so there is one encoding per tree). The first input byte
 * selects the limits: the server's defaults, or lenient type checking with
 * tight limits, so that both the dictionary checks and the limit paths are
 * explored.
 *
 * Build and run (not wired into the Makefile):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *     tests/fuzz/fuzz_ttlv.c src/ttlv/ttlv_*.c src/util/mem.c -lcrypto -lpthread \
 *     -o build/fuzz_ttlv
 *   mkdir -p build/fuzz-corpus && build/fuzz_ttlv -max_total_time=120 build/fuzz-corpus
 */
#include <stdlib.h>
#include <string.h>

#include "ttlv/ttlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ttlv_limits tight = {
    .max_bytes = 4096, .max_depth = 6, .max_items = 64, .max_string = 256, .no_type_check = true,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cf_arena *a;
    const ttlv_limits *lim;
    ttlv_item *it = NULL;
    ttlv_error err;
    cf_buf out;

    if (size < 1)
        return 0;
    if (a == NULL && (a = cf_arena_new(1 << 16, 1u << 26)) == NULL)
        abort();
    lim = (data[0] & 1) ? &tight : &ttlv_default_limits;
    data++, size--;
    if (ttlv_decode(data, size, lim, a, &it, &err) == CF_OK) {
        if (it == NULL)
            abort();
        cf_buf_init(&out, 0);
        if (ttlv_encode(it, &out) != CF_OK || out.len != size || memcmp(out.p, data, size) != 0)
            abort();
        cf_buf_free(&out);
    } else if (it != NULL || err.code == TTLV_E_OK || err.offset > size) {
        abort();
    }
    cf_arena_reset(a);
    return 0;
}
