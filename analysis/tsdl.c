/*
 * analysis/tsdl.c - the TSDL parser of tsdl.h (rules T1-T6 there).
 *
 * A tokenizer, then recursive descent over the declarations.  Everything
 * lives in one arena freed with the metadata.  Parse errors unwind with
 * longjmp from the point that found them, carrying the line.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/tsdl.h"

#define TSDL_MAX_DEPTH 64               /* T7 */
#define TSDL_MAX_BYTES (64 << 20)       /* T7 */

/* ---------------------------------------------------------------- arena */

struct tsdl_arena {
    struct tsdl_arena *next;
    size_t used, cap;
    max_align_t data[];
};

struct parser {
    const char *s, *end;
    int line;
    /* the current token */
    enum { T_EOF, T_ID, T_NUM, T_STR, T_PUNCT } tk;
    const char *tp;             /* its text */
    size_t tl;
    uint64_t num;
    int punct;                  /* a char, or ':' + 256 for ":=", '.' + 256 for "..." */
    struct tsdl_meta *m;
    /* named types: typealias/typedef, struct/enum/variant names */
    struct named { const char *name; int ns; const struct tsdl_type *t; } *names;
    size_t nnames, anames;
    /* scope stack for T4 */
    const struct tsdl_type *scope[32];
    size_t scope_at[32];        /* the member being resolved in each scope */
    int nscope;
    int root_regs;              /* T4: registers of the root being resolved */
    int depth;                  /* T7: type nesting while parsing */
    size_t arena_bytes;         /* T7 */
    size_t astreams, aevents, aclocks;  /* capacities of the meta's arrays */
    jmp_buf fail;
    char *err;
    size_t errlen;
};

#define NS_ALIAS 0
#define NS_STRUCT 1
#define NS_ENUM 2
#define NS_VARIANT 3

static void fail(struct parser *p, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void fail(struct parser *p, const char *fmt, ...)
{
    int n = snprintf(p->err, p->errlen, "line %d: ", p->line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < p->errlen)
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    longjmp(p->fail, 1);
}

static void *arena_alloc(struct parser *p, size_t n)
{
    struct tsdl_meta *m = p->m;
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    p->arena_bytes += n;
    if (p->arena_bytes > TSDL_MAX_BYTES)
        fail(p, "the declarations take more than %d MiB once expanded", TSDL_MAX_BYTES >> 20);
    struct tsdl_arena *a = m->arena;
    if (!a || a->cap - a->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        struct tsdl_arena *na = malloc(sizeof(*na) + cap);
        if (!na)
            fail(p, "out of memory");
        na->next = a;
        na->used = 0;
        na->cap = cap;
        m->arena = a = na;
    }
    void *r = (char *)a->data + a->used;
    a->used += n;
    memset(r, 0, n);
    return r;
}

static char *arena_str(struct parser *p, const char *s, size_t n)
{
    char *r = arena_alloc(p, n + 1);
    memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

/* A growing array in the arena (copied on growth; old copies are garbage
   of the arena, freed with it). */
static void *grow(struct parser *p, void *old, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return old;
    size_t nc = *cap ? *cap * 2 : 8;
    void *r = arena_alloc(p, nc * elem);
    if (old)
        memcpy(r, old, n * elem);
    *cap = nc;
    return r;
}

void tsdl_free(struct tsdl_meta *m)
{
    if (!m)
        return;
    struct tsdl_arena *a = m->arena;
    while (a) {
        struct tsdl_arena *n = a->next;
        free(a);
        a = n;
    }
    free(m);
}

/* ------------------------------------------------------------ tokenizer */

static void next(struct parser *p)
{
    for (;;) {
        while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' ||
                                 *p->s == '\r' || *p->s == '\0')) {
            if (*p->s == '\n')
                p->line++;
            p->s++;
        }
        if (p->end - p->s >= 2 && p->s[0] == '/' && p->s[1] == '*') {
            const char *c = p->s + 2;
            while (c + 1 < p->end && !(c[0] == '*' && c[1] == '/')) {
                if (*c == '\n')
                    p->line++;
                c++;
            }
            if (c + 1 >= p->end)
                fail(p, "a comment is never closed");
            p->s = c + 2;
            continue;
        }
        if (p->end - p->s >= 2 && p->s[0] == '/' && p->s[1] == '/') {
            while (p->s < p->end && *p->s != '\n')
                p->s++;
            continue;
        }
        break;
    }
    p->tp = p->s;
    if (p->s >= p->end) {
        p->tk = T_EOF;
        p->tl = 0;
        return;
    }
    char c = *p->s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
        while (p->s < p->end && ((*p->s >= 'a' && *p->s <= 'z') || (*p->s >= 'A' && *p->s <= 'Z') ||
                                 (*p->s >= '0' && *p->s <= '9') || *p->s == '_'))
            p->s++;
        p->tk = T_ID;
    } else if (c >= '0' && c <= '9') {
        int base = 10;
        if (c == '0' && p->end - p->s > 1 && (p->s[1] == 'x' || p->s[1] == 'X')) {
            base = 16;
            p->s += 2;
        } else if (c == '0' && p->end - p->s > 1 && p->s[1] >= '0' && p->s[1] <= '7') {
            base = 8;
            p->s++;
        }
        uint64_t v = 0;
        const char *d0 = p->s;
        for (; p->s < p->end; p->s++) {
            int d;
            char ch = *p->s;
            if (ch >= '0' && ch <= '9')
                d = ch - '0';
            else if (base == 16 && ch >= 'a' && ch <= 'f')
                d = ch - 'a' + 10;
            else if (base == 16 && ch >= 'A' && ch <= 'F')
                d = ch - 'A' + 10;
            else
                break;
            if (d >= base)
                fail(p, "a bad digit in a number");
            if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
                fail(p, "a number does not fit 64 bits");
            v = v * (uint64_t)base + (uint64_t)d;
        }
        if (base == 16 && p->s == d0)
            fail(p, "\"0x\" without digits");
        while (p->s < p->end && (*p->s == 'u' || *p->s == 'U' || *p->s == 'l' || *p->s == 'L'))
            p->s++;
        p->num = v;
        p->tk = T_NUM;
    } else if (c == '"') {
        p->s++;
        while (p->s < p->end && *p->s != '"') {
            if (*p->s == '\\' && p->s + 1 < p->end)
                p->s++;
            if (*p->s == '\n')
                p->line++;
            p->s++;
        }
        if (p->s >= p->end)
            fail(p, "a string is never closed");
        p->s++;
        p->tk = T_STR;
    } else {
        p->tk = T_PUNCT;
        p->punct = (unsigned char)c;
        p->s++;
        if (c == ':' && p->s < p->end && *p->s == '=') {
            p->punct = ':' + 256;
            p->s++;
        } else if (c == '.' && p->end - p->s >= 2 && p->s[0] == '.' && p->s[1] == '.') {
            p->punct = '.' + 256;
            p->s += 2;
        } else if (c == '-' && p->s < p->end && *p->s == '>') {
            p->punct = '>' + 256;
            p->s++;
        }
    }
    p->tl = (size_t)(p->s - p->tp);
}

static bool is_punct(const struct parser *p, int c)
{
    return p->tk == T_PUNCT && p->punct == c;
}

static bool is_id(const struct parser *p, const char *w)
{
    return p->tk == T_ID && p->tl == strlen(w) && !memcmp(p->tp, w, p->tl);
}

static const char *tok_desc(struct parser *p)
{
    static __thread char b[160];
    if (p->tk == T_EOF)
        return "the end of the text";
    size_t o = 0, n = p->tl > 32 ? 32 : p->tl;
    b[o++] = '"';
    for (size_t i = 0; i < n; i++) {     /* bytes that are not text, escaped */
        unsigned char c = (unsigned char)p->tp[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            b[o++] = (char)c;
        else
            o += (size_t)snprintf(b + o, sizeof(b) - o, "\\x%02x", c);
    }
    b[o++] = '"';
    b[o] = '\0';
    return b;
}

static void expect(struct parser *p, int c)
{
    if (!is_punct(p, c)) {
        char want[4] = { (char)(c & 0xff), 0, 0, 0 };
        if (c == ':' + 256)
            strcpy(want, ":=");
        fail(p, "expected '%s', found %s", want, tok_desc(p));
    }
    next(p);
}

static const char *take_id(struct parser *p)
{
    if (p->tk != T_ID)
        fail(p, "expected a name, found %s", tok_desc(p));
    const char *r = arena_str(p, p->tp, p->tl);
    next(p);
    return r;
}

/* A signed number: [-] NUM. */
static int64_t take_int(struct parser *p, bool *neg_out)
{
    bool neg = false;
    if (is_punct(p, '-')) {
        neg = true;
        next(p);
    }
    if (p->tk != T_NUM)
        fail(p, "expected a number, found %s", tok_desc(p));
    uint64_t v = p->num;
    next(p);
    if (neg_out)
        *neg_out = neg;
    return neg ? (int64_t)(0 - v) : (int64_t)v;
}

/* ------------------------------------------------------------- names */

static void name_add(struct parser *p, const char *name, int ns, const struct tsdl_type *t)
{
    p->names = grow(p, p->names, p->nnames, &p->anames, sizeof(*p->names));
    p->names[p->nnames++] = (struct named){ name, ns, t };
}

static const struct tsdl_type *name_find(const struct parser *p, const char *name, int ns)
{
    for (size_t i = p->nnames; i-- > 0;)
        if (p->names[i].ns == ns && !strcmp(p->names[i].name, name))
            return p->names[i].t;
    return NULL;
}

/* T2: a deep copy of a type. */
static struct tsdl_type *clone(struct parser *p, const struct tsdl_type *t)
{
    struct tsdl_type *c = arena_alloc(p, sizeof(*c));
    *c = *t;
    if (t->nf) {
        struct tsdl_field *f = arena_alloc(p, t->nf * sizeof(*f));
        for (size_t i = 0; i < t->nf; i++)
            f[i] = (struct tsdl_field){ t->f[i].name, clone(p, t->f[i].t) };
        c->f = f;
    }
    if (t->elem)
        c->elem = clone(p, t->elem);
    return c;
}

static struct tsdl_type *new_type(struct parser *p, enum tsdl_kind k)
{
    struct tsdl_type *t = arena_alloc(p, sizeof(*t));
    t->kind = k;
    t->align = 8;
    t->clock = -1;
    t->reg = -1;
    t->tag_reg = -1;
    return t;
}

/* ------------------------------------------------------------- types */

static struct tsdl_type *type_spec(struct parser *p);

static bool bool_word(struct parser *p)
{
    if (p->tk == T_NUM) {
        bool v = p->num != 0;
        next(p);
        return v;
    }
    if (is_id(p, "true") || is_id(p, "TRUE")) {
        next(p);
        return true;
    }
    if (is_id(p, "false") || is_id(p, "FALSE")) {
        next(p);
        return false;
    }
    fail(p, "expected true or false, found %s", tok_desc(p));
}

static void check_align(struct parser *p, uint64_t a)
{
    if (a == 0 || (a & (a - 1)) || a > 4096)
        fail(p, "alignment %" PRIu64 " is not a power of two up to 4096", a);
}

/* integer { attrs } and floating_point { attrs } */
static struct tsdl_type *scalar(struct parser *p, bool is_float)
{
    struct tsdl_type *t = new_type(p, is_float ? TK_FLOAT : TK_INT);
    uint64_t align = 0, exp_dig = 0, mant_dig = 0;
    bool have_size = false;
    expect(p, '{');
    while (!is_punct(p, '}')) {
        const char *k = take_id(p);
        expect(p, '=');
        if (!strcmp(k, "size") || !strcmp(k, "align") || !strcmp(k, "exp_dig") ||
            !strcmp(k, "mant_dig") || !strcmp(k, "base")) {
            if (!strcmp(k, "base") && p->tk == T_ID) {
                next(p);        /* base = hex, dec... */
            } else {
                int64_t v = take_int(p, NULL);
                if (v < 0)
                    fail(p, "%s is negative", k);
                if (!strcmp(k, "size")) {
                    if (v < 1 || v > 64)
                        fail(p, "integer size %" PRId64 " is not 1..64 bits", v);
                    t->size = (unsigned)v;
                    have_size = true;
                } else if (!strcmp(k, "align")) {
                    check_align(p, (uint64_t)v);
                    align = (uint64_t)v;
                } else if (!strcmp(k, "exp_dig")) {
                    exp_dig = (uint64_t)v;
                } else if (!strcmp(k, "mant_dig")) {
                    mant_dig = (uint64_t)v;
                }
            }
        } else if (!strcmp(k, "signed")) {
            t->sgn = bool_word(p);
        } else if (!strcmp(k, "byte_order")) {
            const char *v = take_id(p);
            if (!strcmp(v, "native"))
                t->bo = 0;
            else if (!strcmp(v, "le") || !strcmp(v, "little"))
                t->bo = 1;
            else if (!strcmp(v, "be") || !strcmp(v, "big") || !strcmp(v, "network"))
                t->bo = 2;
            else
                fail(p, "byte_order %s is not native, le or be", v);
        } else if (!strcmp(k, "map")) {
            /* clock.NAME.value */
            const char *a = take_id(p);
            expect(p, '.');
            const char *name = take_id(p);
            expect(p, '.');
            const char *v = take_id(p);
            if (strcmp(a, "clock") || strcmp(v, "value"))
                fail(p, "map = %s.%s.%s is not clock.NAME.value", a, name, v);
            t->clock_name = name;
        } else if (!strcmp(k, "encoding")) {
            if (p->tk == T_ID || p->tk == T_STR)
                next(p);
            else
                fail(p, "expected an encoding, found %s", tok_desc(p));
        } else {
            fail(p, "unknown attribute '%s' of %s", k, is_float ? "floating_point" : "integer");
        }
        expect(p, ';');
    }
    next(p);
    if (is_float) {
        if (exp_dig + mant_dig != 32 && exp_dig + mant_dig != 64)
            fail(p, "floating_point of %" PRIu64 " bits (exp_dig + mant_dig must be 32 or 64)",
                 exp_dig + mant_dig);
        t->size = (unsigned)(exp_dig + mant_dig);
    } else if (!have_size) {
        fail(p, "integer without a size");
    }
    t->align = align ? (unsigned)align : (t->size % 8 ? 1 : 8);
    return t;
}

/* enum [NAME] [: integer-type] [{ entries }] */
static struct tsdl_type *enum_spec(struct parser *p)
{
    const char *name = NULL;
    if (p->tk == T_ID)
        name = take_id(p);
    if (!is_punct(p, ':') && !is_punct(p, '{')) {
        if (!name)
            fail(p, "expected an enum's body, found %s", tok_desc(p));
        const struct tsdl_type *t = name_find(p, name, NS_ENUM);
        if (!t)
            fail(p, "enum %s is not declared", name);
        return clone(p, t);
    }
    struct tsdl_type *t;
    if (is_punct(p, ':')) {
        next(p);
        t = type_spec(p);
        if (t->kind != TK_INT)
            fail(p, "an enum's base type must be an integer");
        if (t->nranges)
            t = clone(p, t);
    } else {
        const struct tsdl_type *it = name_find(p, "int", NS_ALIAS);
        if (!it)
            fail(p, "an enum without a base type needs an 'int' typealias");
        t = clone(p, it);
    }
    expect(p, '{');
    struct tsdl_range *r = NULL;
    size_t nr = 0, ar = 0;
    uint64_t nextv = 0;
    while (!is_punct(p, '}')) {
        const char *label;
        if (p->tk == T_STR) {
            label = arena_str(p, p->tp + 1, p->tl - 2);
            next(p);
        } else {
            label = take_id(p);
        }
        uint64_t lo = nextv, hi = nextv;
        if (is_punct(p, '=')) {
            next(p);
            lo = hi = (uint64_t)take_int(p, NULL);
            if (is_punct(p, '.' + 256)) {
                next(p);
                hi = (uint64_t)take_int(p, NULL);
            }
        }
        r = grow(p, r, nr, &ar, sizeof(*r));
        r[nr++] = (struct tsdl_range){ label, lo, hi };
        nextv = hi + 1;
        if (is_punct(p, ','))
            next(p);
        else if (!is_punct(p, '}'))
            fail(p, "expected ',' or '}' in an enum, found %s", tok_desc(p));
    }
    next(p);
    t->ranges = r;
    t->nranges = nr;
    if (name)
        name_add(p, name, NS_ENUM, t);
    return t;
}

static const struct tsdl_field *decls(struct parser *p, size_t *n);

/* struct [NAME] [{ decls }] [align(N)]; variant [NAME] [<tag>] [{ decls }] */
static struct tsdl_type *compound(struct parser *p, bool variant)
{
    const char *name = NULL, *tag = NULL;
    if (p->tk == T_ID)
        name = take_id(p);
    if (variant && is_punct(p, '<')) {
        next(p);
        char buf[256];
        size_t off = 0;
        while (!is_punct(p, '>')) {
            if (p->tk == T_EOF)
                fail(p, "a variant's tag is never closed");
            if (off + p->tl + 1 < sizeof(buf)) {
                memcpy(buf + off, p->tp, p->tl);
                off += p->tl;
            }
            next(p);
        }
        next(p);
        buf[off] = '\0';
        tag = arena_str(p, buf, off);
    }
    struct tsdl_type *t;
    if (!is_punct(p, '{')) {
        if (!name)
            fail(p, "expected a %s's body, found %s", variant ? "variant" : "struct",
                 tok_desc(p));
        const struct tsdl_type *d = name_find(p, name, variant ? NS_VARIANT : NS_STRUCT);
        if (!d)
            fail(p, "%s %s is not declared", variant ? "variant" : "struct", name);
        t = clone(p, d);
        if (tag)
            t->tag = tag;
    } else {
        next(p);
        t = new_type(p, variant ? TK_VARIANT : TK_STRUCT);
        t->align = 1;
        t->tag = tag;
        t->f = decls(p, &t->nf);
        expect(p, '}');
        if (name)
            name_add(p, name, variant ? NS_VARIANT : NS_STRUCT, t);
    }
    if (!variant && is_id(p, "align")) {
        next(p);
        expect(p, '(');
        int64_t a = take_int(p, NULL);
        check_align(p, (uint64_t)a);
        expect(p, ')');
        if ((unsigned)a > t->align)
            t->align = (unsigned)a;
    }
    return t;
}

/* Type names of several words ("unsigned long"): the longest run of
   identifiers that names an alias, leaving at least `keep` identifiers. */
static struct tsdl_type *alias_use(struct parser *p)
{
    /* gather the words ahead without consuming: save the tokenizer */
    const char *save_s = p->s, *save_tp = p->tp;
    size_t save_tl = p->tl;
    int save_line = p->line;
    const char *words[8];
    size_t lens[8];
    int nw = 0;
    while (p->tk == T_ID && nw < 8) {
        words[nw] = p->tp;
        lens[nw] = p->tl;
        nw++;
        next(p);
    }
    /* restore */
    p->s = save_s;
    p->tp = save_tp;
    p->tl = save_tl;
    p->line = save_line;
    p->tk = T_ID;
    for (int k = nw; k >= 1; k--) {
        char buf[256];
        size_t off = 0;
        for (int i = 0; i < k; i++) {
            if (off + lens[i] + 2 >= sizeof(buf))
                break;
            if (i)
                buf[off++] = ' ';
            memcpy(buf + off, words[i], lens[i]);
            off += lens[i];
        }
        buf[off] = '\0';
        const struct tsdl_type *t = name_find(p, buf, NS_ALIAS);
        if (t) {
            for (int i = 0; i < k; i++)
                next(p);
            return clone(p, t);
        }
    }
    fail(p, "unknown type %s", tok_desc(p));
}

static struct tsdl_type *type_spec_inner(struct parser *p);

static struct tsdl_type *type_spec(struct parser *p)       /* T7 */
{
    if (++p->depth > TSDL_MAX_DEPTH)
        fail(p, "types nest deeper than %d levels", TSDL_MAX_DEPTH);
    struct tsdl_type *t = type_spec_inner(p);
    p->depth--;
    return t;
}

static struct tsdl_type *type_spec_inner(struct parser *p)
{
    if (p->tk != T_ID)
        fail(p, "expected a type, found %s", tok_desc(p));
    if (is_id(p, "integer")) {
        next(p);
        return scalar(p, false);
    }
    if (is_id(p, "floating_point")) {
        next(p);
        return scalar(p, true);
    }
    if (is_id(p, "string")) {
        next(p);
        struct tsdl_type *t = new_type(p, TK_STRING);
        if (is_punct(p, '{')) {          /* { encoding = ...; } */
            int depth = 0;
            do {
                if (is_punct(p, '{'))
                    depth++;
                else if (is_punct(p, '}'))
                    depth--;
                else if (p->tk == T_EOF)
                    fail(p, "a string's attributes are never closed");
                next(p);
            } while (depth > 0);
        }
        return t;
    }
    if (is_id(p, "enum")) {
        next(p);
        return enum_spec(p);
    }
    if (is_id(p, "struct")) {
        next(p);
        return compound(p, false);
    }
    if (is_id(p, "variant")) {
        next(p);
        return compound(p, true);
    }
    return alias_use(p);
}

/* declarator: NAME [ '[' N | NAME ']' ]...  applied to t */
static const struct tsdl_type *declarator(struct parser *p, struct tsdl_type *t,
                                          const char **name)
{
    *name = take_id(p);
    /* dimensions apply innermost-last: a[2][3] is 2 arrays of 3 */
    struct { bool seq; uint64_t len; const char *ref; } dims[4];
    int nd = 0;
    while (is_punct(p, '[')) {
        next(p);
        if (nd == 4)
            fail(p, "more than 4 dimensions");
        if (p->tk == T_NUM) {
            dims[nd].seq = false;
            dims[nd].len = p->num;
            dims[nd].ref = NULL;
            next(p);
        } else {
            char buf[256];
            size_t off = 0;
            while (!is_punct(p, ']')) {
                if (p->tk == T_EOF || off + p->tl + 1 >= sizeof(buf))
                    fail(p, "a sequence's length is never closed");
                memcpy(buf + off, p->tp, p->tl);
                off += p->tl;
                next(p);
            }
            dims[nd].seq = true;
            dims[nd].ref = arena_str(p, buf, off);
        }
        expect(p, ']');
        nd++;
    }
    const struct tsdl_type *cur = t;
    for (int i = nd - 1; i >= 0; i--) {
        struct tsdl_type *a = new_type(p, dims[i].seq ? TK_SEQ : TK_ARRAY);
        a->elem = cur;
        a->len = dims[i].len;
        a->tag = dims[i].ref;
        cur = a;
    }
    return cur;
}

/* Members until '}': TYPE declarator [, declarator]... ; and typealiases. */
static void typealias(struct parser *p);

static const struct tsdl_field *decls(struct parser *p, size_t *n)
{
    struct tsdl_field *f = NULL;
    size_t nf = 0, af = 0;
    while (!is_punct(p, '}')) {
        if (p->tk == T_EOF)
            fail(p, "a structure is never closed");
        if (is_id(p, "typealias")) {
            next(p);
            typealias(p);
            continue;
        }
        struct tsdl_type *t;
        if (p->tk == T_ID && !is_id(p, "integer") && !is_id(p, "floating_point") &&
            !is_id(p, "string") && !is_id(p, "enum") && !is_id(p, "struct") &&
            !is_id(p, "variant")) {
            /* alias words then the declarator: the declarator is the last
               identifier before '[', ';' or ',' */
            t = alias_use(p);
        } else {
            t = type_spec(p);
        }
        for (;;) {
            const char *name;
            const struct tsdl_type *dt = declarator(p, t, &name);
            f = grow(p, f, nf, &af, sizeof(*f));
            f[nf++] = (struct tsdl_field){ name, dt };
            if (!is_punct(p, ','))
                break;
            next(p);
            t = clone(p, t);
        }
        expect(p, ';');
    }
    *n = nf;
    return f;
}

/* typealias TYPE := NAME WORDS ; */
static void typealias(struct parser *p)
{
    struct tsdl_type *t = type_spec(p);
    expect(p, ':' + 256);
    char buf[256];
    size_t off = 0;
    while (p->tk == T_ID) {
        if (off + p->tl + 2 >= sizeof(buf))
            fail(p, "a type name is too long");
        if (off)
            buf[off++] = ' ';
        memcpy(buf + off, p->tp, p->tl);
        off += p->tl;
        next(p);
    }
    if (!off)
        fail(p, "expected a type name after ':=', found %s", tok_desc(p));
    /* "int *" pointer aliases are not supported */
    name_add(p, arena_str(p, buf, off), NS_ALIAS, t);
    expect(p, ';');
}

/* ------------------------------------------------------------- blocks */

static void skip_block(struct parser *p)
{
    int depth = 0;
    do {
        if (p->tk == T_EOF)
            fail(p, "a block is never closed");
        if (is_punct(p, '{'))
            depth++;
        else if (is_punct(p, '}'))
            depth--;
        next(p);
    } while (depth > 0);
    expect(p, ';');
}

/* key: NAME[.NAME]* into buf */
static void dotted(struct parser *p, char *buf, size_t len)
{
    size_t off = 0;
    for (;;) {
        if (p->tk != T_ID)
            fail(p, "expected a name, found %s", tok_desc(p));
        if (off + p->tl + 2 >= len)
            fail(p, "a name is too long");
        memcpy(buf + off, p->tp, p->tl);
        off += p->tl;
        next(p);
        if (!is_punct(p, '.'))
            break;
        buf[off++] = '.';
        next(p);
    }
    buf[off] = '\0';
}

static int parse_uuid(const char *s, size_t n, uint8_t out[16])
{
    int k = 0;
    for (size_t i = 0; i < n && k < 32; i++) {
        char c = s[i];
        int d;
        if (c == '-')
            continue;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        if (k % 2 == 0)
            out[k / 2] = (uint8_t)(d << 4);
        else
            out[k / 2] |= (uint8_t)d;
        k++;
    }
    return k == 32 ? 0 : -1;
}

enum block { B_TRACE, B_CLOCK, B_STREAM, B_EVENT };

static void block(struct parser *p, enum block b)
{
    struct tsdl_meta *m = p->m;
    struct tsdl_clock clk = { .freq = 1000000000 };
    struct tsdl_stream st = { 0 };
    struct tsdl_event ev = { .name = NULL };
    bool have_sid = false;
    expect(p, '{');
    while (!is_punct(p, '}')) {
        if (is_id(p, "typealias")) {
            next(p);
            typealias(p);
            continue;
        }
        char key[128];
        dotted(p, key, sizeof(key));
        if (is_punct(p, ':' + 256)) {
            next(p);
            struct tsdl_type *t = type_spec(p);
            if (t->kind != TK_STRUCT)
                fail(p, "%s must be a structure", key);
            if (b == B_TRACE && !strcmp(key, "packet.header"))
                m->packet_header = t;
            else if (b == B_STREAM && !strcmp(key, "packet.context"))
                st.packet_context = t;
            else if (b == B_STREAM && !strcmp(key, "event.header"))
                st.event_header = t;
            else if (b == B_STREAM && !strcmp(key, "event.context"))
                st.event_context = t;
            else if (b == B_EVENT && !strcmp(key, "fields"))
                ev.fields = t;
            else if (b == B_EVENT && !strcmp(key, "context"))
                ev.context = t;
            else
                fail(p, "unknown type slot %s", key);
            expect(p, ';');
            continue;
        }
        expect(p, '=');
        /* value: [-]NUM, STRING or a dotted name */
        bool neg = false;
        uint64_t num = 0;
        const char *str = NULL;
        size_t slen = 0;
        char word[128] = "";
        if (p->tk == T_NUM || is_punct(p, '-')) {
            int64_t v = take_int(p, &neg);
            num = (uint64_t)v;
        } else if (p->tk == T_STR) {
            str = p->tp + 1;
            slen = p->tl - 2;
            next(p);
        } else {
            dotted(p, word, sizeof(word));
        }
        if (b == B_TRACE && !strcmp(key, "byte_order")) {
            if (!strcmp(word, "be") || !strcmp(word, "big") || !strcmp(word, "network"))
                m->be = true;
            else if (!strcmp(word, "le") || !strcmp(word, "little"))
                m->be = false;
            else
                fail(p, "the trace's byte_order '%s' is not le or be", word);
        } else if (b == B_TRACE && !strcmp(key, "uuid") && str) {
            if (parse_uuid(str, slen, m->uuid) != 0)
                fail(p, "the trace's uuid is not 32 hex digits");
            m->has_uuid = true;
        } else if (b == B_TRACE && !strcmp(key, "major") && num != 1) {
            fail(p, "CTF major version %" PRIu64 " (this reader reads 1.8)", num);
        } else if (b == B_CLOCK && !strcmp(key, "name")) {
            clk.name = str ? arena_str(p, str, slen) : arena_str(p, word, strlen(word));
        } else if (b == B_CLOCK && !strcmp(key, "freq")) {
            if (num == 0 || neg)
                fail(p, "a clock's frequency must be positive");
            clk.freq = num;
        } else if (b == B_CLOCK && !strcmp(key, "offset_s")) {
            clk.offset_s = (int64_t)num;
        } else if (b == B_CLOCK && !strcmp(key, "offset")) {
            clk.offset = (int64_t)num;
        } else if (b == B_STREAM && !strcmp(key, "id")) {
            st.id = num;
        } else if (b == B_EVENT && !strcmp(key, "name")) {
            ev.name = str ? arena_str(p, str, slen) : arena_str(p, word, strlen(word));
        } else if (b == B_EVENT && !strcmp(key, "id")) {
            ev.id = num;
        } else if (b == B_EVENT && !strcmp(key, "stream_id")) {
            ev.stream_id = num;
            have_sid = true;
        }
        expect(p, ';');
    }
    next(p);
    expect(p, ';');
    if (b == B_CLOCK) {
        if (!clk.name)
            fail(p, "a clock without a name");
        m->clocks = grow(p, m->clocks, m->nclocks, &p->aclocks, sizeof(clk));
        m->clocks[m->nclocks++] = clk;
    } else if (b == B_STREAM) {
        if (tsdl_stream_of(m, st.id))
            fail(p, "stream class %" PRIu64 " is declared twice", st.id);
        m->streams = grow(p, m->streams, m->nstreams, &p->astreams, sizeof(st));
        m->streams[m->nstreams++] = st;
    } else if (b == B_EVENT) {
        if (!ev.name)
            fail(p, "an event without a name");
        (void)have_sid;
        if (tsdl_event_of(m, ev.stream_id, ev.id))
            fail(p, "event id %" PRIu64 " of stream class %" PRIu64 " is declared twice",
                 ev.id, ev.stream_id);
        m->events = grow(p, m->events, m->nevents, &p->aevents, sizeof(ev));
        m->events[m->nevents++] = ev;
    }
}

/* ------------------------------------------------- resolving (T3, T4) */

static void resolve(struct parser *p, struct tsdl_type *t);

static void resolve_members(struct parser *p, struct tsdl_type *t)
{
    if (p->nscope == (int)(sizeof(p->scope) / sizeof(p->scope[0])))
        fail(p, "structures nest too deep");
    int me = p->nscope++;
    p->scope[me] = t;
    unsigned align = t->align;
    for (size_t i = 0; i < t->nf; i++) {
        struct tsdl_type *ft = (struct tsdl_type *)t->f[i].t;
        p->scope_at[me] = i;
        resolve(p, ft);
        if (t->kind == TK_STRUCT && ft->align > align)
            align = ft->align;
    }
    if (t->kind == TK_STRUCT)
        t->align = align ? align : 1;
    else
        t->align = 1;           /* a variant aligns as its chosen option */
    p->nscope--;
}

/* T4: the member a tag names: in the structures from the innermost out,
   the last path component matched against the members declared before
   the one being resolved (a variant's options are not each other's). */
static struct tsdl_type *find_ref(struct parser *p, const char *path)
{
    const char *name = strrchr(path, '.');
    name = name ? name + 1 : path;
    for (int s = p->nscope - 1; s >= 0; s--) {
        const struct tsdl_type *st = p->scope[s];
        if (st->kind != TK_STRUCT)
            continue;
        for (size_t i = p->scope_at[s]; i-- > 0;)
            if (!strcmp(st->f[i].name, name) ||
                !strcmp(tsdl_name(st->f[i].name), tsdl_name(name)))
                return (struct tsdl_type *)st->f[i].t;
    }
    return NULL;
}

static int reg_of(struct parser *p, struct tsdl_type *ref, const char *path)
{
    if (!ref || ref->kind != TK_INT)
        fail(p, "'%s' names no integer member declared before it", path);
    if (ref->reg < 0) {
        if (p->root_regs == TSDL_MAX_REGS)
            fail(p, "more than %d variant tags and sequence lengths in one structure",
                 TSDL_MAX_REGS);
        ref->reg = p->root_regs++;
        if (p->root_regs > p->m->nregs)
            p->m->nregs = p->root_regs;
    }
    return ref->reg;
}

/* T8: the fewest bits a value of t can take (saturating). */
static uint64_t min_bits(const struct tsdl_type *t, int depth)
{
    if (depth > TSDL_MAX_DEPTH)
        return 0;
    switch (t->kind) {
    case TK_INT:
    case TK_FLOAT:
        return t->size;
    case TK_STRING:
        return 8;
    case TK_STRUCT: {
        uint64_t sum = 0;
        for (size_t i = 0; i < t->nf; i++) {
            sum += min_bits(t->f[i].t, depth + 1);
            if (sum > (1u << 30))
                return 1u << 30;
        }
        return sum;
    }
    case TK_VARIANT: {
        uint64_t m = UINT64_MAX;
        for (size_t i = 0; i < t->nf; i++) {
            uint64_t b = min_bits(t->f[i].t, depth + 1);
            if (b < m)
                m = b;
        }
        return m == UINT64_MAX ? 0 : m;
    }
    case TK_ARRAY: {
        uint64_t e = min_bits(t->elem, depth + 1);
        return e && t->len > (1u << 30) / e ? 1u << 30 : e * t->len;
    }
    case TK_SEQ:
        return 0;
    }
    return 0;
}

static void resolve(struct parser *p, struct tsdl_type *t)
{
    switch (t->kind) {
    case TK_INT:
        t->be = t->bo == 2 || (t->bo == 0 && p->m->be);
        if (t->clock_name) {
            t->clock = -1;
            for (size_t i = 0; i < p->m->nclocks; i++)
                if (!strcmp(p->m->clocks[i].name, t->clock_name))
                    t->clock = (int)i;
            if (t->clock < 0)
                fail(p, "an integer maps to clock '%s', which is not declared",
                     t->clock_name);
        }
        break;
    case TK_FLOAT:
        t->be = t->bo == 2 || (t->bo == 0 && p->m->be);
        break;
    case TK_STRING:
        break;
    case TK_ARRAY:
    case TK_SEQ:
        if (t->kind == TK_SEQ)
            t->tag_reg = reg_of(p, find_ref(p, t->tag), t->tag);
        resolve(p, (struct tsdl_type *)t->elem);
        t->align = t->elem->align;
        if (min_bits(t->elem, 0) == 0)          /* T8 */
            fail(p, "an array or sequence whose elements can take no bits");
        break;
    case TK_VARIANT: {
        if (!t->tag)
            fail(p, "a variant without a tag");
        struct tsdl_type *ref = find_ref(p, t->tag);
        t->tag_reg = reg_of(p, ref, t->tag);
        if (!ref->nranges)
            fail(p, "variant tag '%s' is not an enumeration", t->tag);
        t->tag_type = ref;
        int *opt = arena_alloc(p, ref->nranges * sizeof(*opt));
        for (size_t r = 0; r < ref->nranges; r++) {
            opt[r] = -1;
            for (size_t k = 0; k < t->nf; k++)
                if (!strcmp(tsdl_name(t->f[k].name), tsdl_name(ref->ranges[r].label)))
                    opt[r] = (int)k;
        }
        t->option = opt;
        resolve_members(p, t);
        break;
    }
    case TK_STRUCT:
        resolve_members(p, t);
        break;
    }
}

static void resolve_root(struct parser *p, const struct tsdl_type *t)
{
    if (!t)
        return;
    p->nscope = 0;
    p->root_regs = 0;           /* T4: a tag is found within its root */
    resolve(p, (struct tsdl_type *)t);
}

/* ------------------------------------------------------------- parsing */

int tsdl_parse(const char *text, size_t len, struct tsdl_meta **out, char *err,
               size_t errlen)
{
    struct parser *p = calloc(1, sizeof(*p));
    struct tsdl_meta *m = calloc(1, sizeof(*m));
    if (!p || !m) {
        free(p);
        free(m);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->s = text;
    p->end = text + len;
    p->line = 1;
    p->m = m;
    p->err = err;
    p->errlen = errlen;
    if (setjmp(p->fail)) {
        tsdl_free(m);
        free(p);
        return -1;
    }
    next(p);
    while (p->tk != T_EOF) {
        if (is_id(p, "typealias")) {
            next(p);
            typealias(p);
        } else if (is_id(p, "typedef")) {
            next(p);
            struct tsdl_type *t = type_spec(p);
            const char *name;
            const struct tsdl_type *dt = declarator(p, t, &name);
            name_add(p, name, NS_ALIAS, dt);
            expect(p, ';');
        } else if (is_id(p, "trace")) {
            next(p);
            block(p, B_TRACE);
        } else if (is_id(p, "clock")) {
            next(p);
            block(p, B_CLOCK);
        } else if (is_id(p, "stream")) {
            next(p);
            block(p, B_STREAM);
        } else if (is_id(p, "event")) {
            next(p);
            block(p, B_EVENT);
        } else if (is_id(p, "struct") || is_id(p, "enum") || is_id(p, "variant")) {
            type_spec(p);
            expect(p, ';');
        } else if (p->tk == T_ID) {
            next(p);            /* env, callsite and other blocks (T1) */
            if (!is_punct(p, '{'))
                fail(p, "expected a block, found %s", tok_desc(p));
            skip_block(p);
        } else {
            fail(p, "expected a declaration, found %s", tok_desc(p));
        }
    }
    if (m->nstreams == 0 && m->nevents) {   /* CTF: one implicit stream class */
        m->streams = grow(p, m->streams, 0, &p->astreams, sizeof(*m->streams));
        m->streams[m->nstreams++] = (struct tsdl_stream){ 0 };
    }
    resolve_root(p, m->packet_header);
    for (size_t i = 0; i < m->nstreams; i++) {
        resolve_root(p, m->streams[i].packet_context);
        resolve_root(p, m->streams[i].event_header);
        resolve_root(p, m->streams[i].event_context);
    }
    for (size_t i = 0; i < m->nevents; i++) {
        if (!tsdl_stream_of(m, m->events[i].stream_id))
            fail(p, "event %s belongs to stream class %" PRIu64 ", which is not declared",
                 m->events[i].name, m->events[i].stream_id);
        resolve_root(p, m->events[i].context);
        resolve_root(p, m->events[i].fields);
    }
    free(p);
    *out = m;
    return 0;
}

/* ------------------------------------------------------------- the file */

#define META_MAGIC 0x75d11d57u
#define META_HDR 37

static uint32_t rd32(const unsigned char *b, bool swap)
{
    uint32_t v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                 (uint32_t)b[3] << 24;
    return swap ? __builtin_bswap32(v) : v;
}

int tsdl_load(const char *path, struct tsdl_meta **out, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(err, errlen, "cannot read metadata file '%s': %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t size = (size_t)sb.st_size;
    unsigned char *raw = malloc(size + 1);
    char *text = malloc(size + 1);
    size_t got = 0;
    while (raw && got < size) {
        ssize_t n = read(fd, raw + got, size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!raw || !text || got != size) {
        snprintf(err, errlen, "cannot read metadata file '%s'%s", path,
                 raw && text ? ": short read" : ": out of memory");
        free(raw);
        free(text);
        return -1;
    }
    const char *why = NULL;
    size_t tlen = 0;
    bool packetized = size >= 4 && (rd32(raw, false) == META_MAGIC ||
                                    rd32(raw, true) == META_MAGIC);
    if (packetized) {
        bool swap = rd32(raw, false) != META_MAGIC;
        size_t off = 0;
        while (off < size) {
            if (size - off < META_HDR) {
                why = "ends inside a packet header";
                break;
            }
            if (rd32(raw + off, swap) != META_MAGIC) {
                why = "holds a packet without the metadata magic";
                break;
            }
            uint64_t content = rd32(raw + off + 24, swap), psize = rd32(raw + off + 28, swap);
            if (content % 8 || psize % 8 || psize / 8 < META_HDR || content / 8 < META_HDR ||
                content > psize) {
                why = "holds a packet whose sizes make no sense";
                break;
            }
            if (off + psize / 8 > size) {
                why = "ends inside a packet";
                break;
            }
            if (raw[off + 32] || raw[off + 33]) {
                why = "holds a compressed or encrypted packet";
                break;
            }
            memcpy(text + tlen, raw + off + META_HDR, content / 8 - META_HDR);
            tlen += content / 8 - META_HDR;
            off += psize / 8;
        }
    } else {
        memcpy(text, raw, size);
        tlen = size;
    }
    free(raw);
    if (!why) {
        /* a text cut short ends inside a declaration: the last two
           characters that are not blank must be "};" */
        size_t i = tlen;
        while (i > 0 && (text[i - 1] == ' ' || text[i - 1] == '\n' || text[i - 1] == '\t' ||
                         text[i - 1] == '\r' || text[i - 1] == '\0'))
            i--;
        if (i < 2 || text[i - 1] != ';' || text[i - 2] != '}')
            why = "does not end with a whole declaration (\"};\")";
    }
    if (why) {
        snprintf(err, errlen, "metadata file '%s' is cut short or corrupt: it %s (the "
                 "file is %zu bytes); its trace is not read", path, why, size);
        free(text);
        return -1;
    }
    char perr[512];
    int rc = tsdl_parse(text, tlen, out, perr, sizeof(perr));
    free(text);
    if (rc != 0) {
        snprintf(err, errlen, "metadata file '%s' (%zu bytes) cannot be parsed: %s; its "
                 "trace is not read", path, size, perr);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- lookups */

const struct tsdl_stream *tsdl_stream_of(const struct tsdl_meta *m, uint64_t id)
{
    for (size_t i = 0; i < m->nstreams; i++)
        if (m->streams[i].id == id)
            return &m->streams[i];
    return NULL;
}

const struct tsdl_event *tsdl_event_of(const struct tsdl_meta *m, uint64_t stream_id,
                                       uint64_t id)
{
    for (size_t i = 0; i < m->nevents; i++)
        if (m->events[i].id == id && m->events[i].stream_id == stream_id)
            return &m->events[i];
    return NULL;
}

int tsdl_member(const struct tsdl_type *st, const char *name)
{
    if (!st || (st->kind != TK_STRUCT && st->kind != TK_VARIANT))
        return -1;
    for (size_t i = 0; i < st->nf; i++)
        if (!strcmp(tsdl_name(st->f[i].name), tsdl_name(name)))
            return (int)i;
    return -1;
}
