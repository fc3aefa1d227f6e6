/*
 * The template compiler's core (eex.h): one pass over the template that lexes text and tags
 * and writes C as it goes.
 *
 * Text is buffered until a tag ends it, so the trimming rule (a line holding only one
 * statement or comment tag leaves nothing) can cut the buffered blanks back to the line's
 * start; then it is written as one dyn_tpl_text call whose literal is split after each
 * newline, one piece per line of generated code. Code is copied byte for byte after a #line
 * directive and a pad that puts it at its template column; only @name changes it.
 */
#include "eex.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffers ------------------------------------------------------------------------------ */

static bool reserve(eex_buf_t *b, size_t more)
{
    if (b->failed)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + more + 1) {
        if (ncap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        ncap *= 2;
    }
    char *nd = realloc(b->data, ncap);
    if (!nd) {
        b->failed = true;
        return false;
    }
    b->data = nd;
    b->cap = ncap;
    return true;
}

void eex_buf_free(eex_buf_t *b)
{
    free(b->data);
    *b = (eex_buf_t){0};
}

void eex_buf_put(eex_buf_t *b, const void *p, size_t n)
{
    if (!reserve(b, n))
        return;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void eex_buf_puts(eex_buf_t *b, const char *s)
{
    eex_buf_put(b, s, strlen(s));
}

void eex_buf_printf(eex_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        eex_buf_put(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ---- names -------------------------------------------------------------------------------- */

const char *eex_format(const char *name)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *dot = strrchr(base, '.');
    return dot ? dot + 1 : name + strlen(name);
}

bool eex_format_escapes(const char *f)
{
    return !strcmp(f, "html") || !strcmp(f, "htm") || !strcmp(f, "xhtml") || !strcmp(f, "xml") ||
           !strcmp(f, "svg");
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_alnum(int c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

bool eex_is_ident(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || !is_alpha((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_alnum((unsigned char)s[i]))
            return false;
    return true;
}

void eex_func_name(eex_buf_t *out, const char *set, const char *name)
{
    eex_buf_printf(out, "dyn_tpl_%s__", set);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
            eex_buf_put(out, p, 1);
        else
            eex_buf_printf(out, "_%02x", *p);
    }
}

/* A C string literal's body for s[0..n): quotes, backslashes and control bytes escaped, bytes
 * past ASCII as octal (three digits, so a following digit is never taken in), and '?' after
 * '?' escaped (no trigraph in strict C modes). */
static void put_cstr(eex_buf_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            eex_buf_puts(b, "\\\"");
            break;
        case '\\':
            eex_buf_puts(b, "\\\\");
            break;
        case '\n':
            eex_buf_puts(b, "\\n");
            break;
        case '\t':
            eex_buf_puts(b, "\\t");
            break;
        case '\r':
            eex_buf_puts(b, "\\r");
            break;
        case '?':
            eex_buf_puts(b, i > 0 && s[i - 1] == '?' ? "\\?" : "?");
            break;
        default:
            if (c < 0x20 || c >= 0x7f)
                eex_buf_printf(b, "\\%03o", c);
            else
                eex_buf_put(b, &c, 1);
        }
    }
}

/* ---- the compiler ------------------------------------------------------------------------- */

typedef struct cc {
    const char *src;
    size_t len;
    size_t pos;
    const eex_opts_t *o;
    eex_buf_t *out;
    eex_error_t *err;
    bool escapes;   /* <%= escapes (html-like format) */
    bool bol;       /* the pending text starts at the beginning of a line */
    eex_buf_t text; /* pending text, <%% already turned into <% */
    /* A cursor for positions: offset `off` is at line `line`, column `col`. Positions are
     * asked for in increasing order but for errors, so advancing it keeps the pass linear. */
    size_t off;
    unsigned line, col;
} cc_t;

/* Position of src offset `at` as line and column (columns count UTF-8 lead bytes). */
static void position(cc_t *c, size_t at, unsigned *line, unsigned *col)
{
    if (at < c->off) {
        c->off = 0;
        c->line = c->col = 1;
    }
    for (; c->off < at && c->off < c->len; c->off++) {
        unsigned char ch = (unsigned char)c->src[c->off];
        if (ch == '\n') {
            c->line++;
            c->col = 1;
        } else if ((ch & 0xC0) != 0x80) {
            c->col++;
        }
    }
    *line = c->line;
    *col = c->col;
}

__attribute__((format(printf, 3, 4))) static int fail(cc_t *c, size_t at, const char *fmt, ...)
{
    position(c, at, &c->err->line, &c->err->col);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static void put_line(cc_t *c, size_t at)
{
    if (c->o->no_line)
        return;
    unsigned line, col;
    position(c, at, &line, &col);
    eex_buf_printf(c->out, "#line %u \"", line);
    put_cstr(c->out, c->o->path, strlen(c->o->path));
    eex_buf_puts(c->out, "\"\n");
}

/* Pads so that the next byte written lands at the column of src offset `at`: the line's
 * prefix with every byte but tabs turned into a space (tabs kept, so display columns match
 * too); UTF-8 continuation bytes are dropped, so a multi-byte character counts once. Past
 * column PAD_MAX there is no pad (the work per tag stays bounded on absurd lines). */
#define PAD_MAX 1024
static void put_pad(cc_t *c, size_t at)
{
    size_t ls = at;
    while (ls > 0 && c->src[ls - 1] != '\n') {
        if (at - ls > PAD_MAX)
            return;
        ls--;
    }
    for (size_t i = ls; i < at; i++) {
        unsigned char ch = (unsigned char)c->src[i];
        if (ch == '\t')
            eex_buf_puts(c->out, "\t");
        else if ((ch & 0xC0) != 0x80)
            eex_buf_puts(c->out, " ");
    }
}

/* Writes the pending text as one dyn_tpl_text call. */
static void flush_text(cc_t *c)
{
    eex_buf_t *t = &c->text;
    if (t->len == 0)
        return;
    eex_buf_puts(c->out, "    dyn_tpl_text(dyn_tpl, ");
    size_t start = 0;
    for (size_t i = 0; i < t->len; i++) {
        if (t->data[i] == '\n' && i + 1 < t->len) {
            eex_buf_puts(c->out, "\"");
            put_cstr(c->out, t->data + start, i + 1 - start);
            eex_buf_puts(c->out, "\"\n        ");
            start = i + 1;
        }
    }
    eex_buf_puts(c->out, "\"");
    put_cstr(c->out, t->data + start, t->len - start);
    eex_buf_printf(c->out, "\", %zu);\n", t->len);
    t->len = 0;
    if (t->data)
        t->data[0] = '\0';
}

/* Whether only blanks precede the current tag on its line: the pending text after its last
 * newline is blank, or it has no newline, is blank and started at a line's beginning. On
 * success *cut is the pending length to keep. */
static bool line_blank_before(const cc_t *c, size_t *cut)
{
    const eex_buf_t *t = &c->text;
    size_t i = t->len;
    while (i > 0 && (t->data[i - 1] == ' ' || t->data[i - 1] == '\t'))
        i--;
    if (i > 0 && t->data[i - 1] == '\n') {
        *cut = i;
        return true;
    }
    if (i == 0 && c->bol) {
        *cut = 0;
        return true;
    }
    return false;
}

/* After a non-output tag ending at c->pos: if only blanks follow up to a newline (or the end)
 * and only blanks precede it on its line, drop both. */
static void trim_line(cc_t *c)
{
    size_t p = c->pos;
    while (p < c->len && (c->src[p] == ' ' || c->src[p] == '\t'))
        p++;
    bool eol = p == c->len || c->src[p] == '\n' ||
               (c->src[p] == '\r' && p + 1 < c->len && c->src[p + 1] == '\n');
    size_t cut;
    if (!eol || !line_blank_before(c, &cut))
        return;
    c->text.len = cut;
    if (c->text.data)
        c->text.data[cut] = '\0';
    if (p < c->len)
        p += c->src[p] == '\r' ? 2 : 1;
    c->pos = p;
}

enum { TAG_CODE, TAG_OUT, TAG_RAW };

/* Lexes a tag's code from c->pos to its closing %>: records where it ends (*end, the offset of
 * the '%') and moves c->pos past the %>. Returns 0 or -1 (error set). */
static int scan_code(cc_t *c, size_t tag_at, const char *opener, size_t *end)
{
    const char *s = c->src;
    size_t i = c->pos, n = c->len;
    while (i < n) {
        char ch = s[i];
        if (ch == '%' && i + 1 < n && s[i + 1] == '>') {
            *end = i;
            c->pos = i + 2;
            return 0;
        }
        if (ch == '"' || ch == '\'') {
            size_t at = i++;
            while (i < n && s[i] != ch && s[i] != '\n') {
                if (s[i] == '\\' && i + 1 < n) /* an escape, or a continued line */
                    i++;
                i++;
            }
            if (i >= n || s[i] != ch)
                return fail(c, at, "missing terminating %c character in '%s' tag", ch, opener);
            i++;
        } else if (ch == '/' && i + 1 < n && s[i + 1] == '*') {
            size_t at = i;
            i += 2;
            while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'))
                i++;
            if (i + 1 >= n)
                return fail(c, at, "unterminated comment in '%s' tag", opener);
            i += 2;
        } else if (ch == '/' && i + 1 < n && s[i + 1] == '/') {
            /* A line comment ends at its newline, or at %> (then the tag ends too). */
            while (i < n && s[i] != '\n' && !(s[i] == '%' && i + 1 < n && s[i + 1] == '>'))
                i++;
        } else {
            i++;
        }
    }
    return fail(c, tag_at, "unclosed '%s' tag: no '%%>' found", opener);
}

/* Writes src[from..to) as code, with @name expanded to an assign lookup. */
static int put_code(cc_t *c, size_t from, size_t to)
{
    const char *s = c->src;
    size_t i = from, last = from;
    while (i < to) {
        char ch = s[i];
        if (ch == '"' || ch == '\'') {
            i++;
            while (i < to && s[i] != ch) {
                if (s[i] == '\\')
                    i++;
                i++;
            }
            i++;
        } else if (ch == '/' && i + 1 < to && s[i + 1] == '*') {
            i += 2;
            while (i + 1 < to && !(s[i] == '*' && s[i + 1] == '/'))
                i++;
            i += 2;
        } else if (ch == '/' && i + 1 < to && s[i + 1] == '/') {
            while (i < to && s[i] != '\n')
                i++;
        } else if (ch == '@') {
            size_t k = i + 1;
            if (k >= to || !is_alpha((unsigned char)s[k]))
                return fail(c, i, "expected an assign name after '@'");
            while (k < to && is_alnum((unsigned char)s[k]))
                k++;
            eex_buf_put(c->out, s + last, i - last);
            eex_buf_puts(c->out, "dyn_tpl_assign(dyn_tpl, \"");
            eex_buf_put(c->out, s + i + 1, k - i - 1);
            eex_buf_puts(c->out, "\", __LINE__)");
            i = last = k;
        } else {
            i++;
        }
    }
    if (i > to)
        i = to;
    eex_buf_put(c->out, s + last, to - last);
    return 0;
}

static bool blank(const char *s, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return false;
    return true;
}

static int tag(cc_t *c, size_t tag_at)
{
    const char *s = c->src;
    size_t n = c->len;
    /* c->pos is just past "<%" */
    if (c->pos + 3 <= n && !memcmp(s + c->pos, "!--", 3)) {
        size_t i = c->pos + 3;
        while (i + 3 < n && memcmp(s + i, "--%>", 4))
            i++;
        if (i + 4 > n)
            return fail(c, tag_at, "unclosed '<%%!--' comment: no '--%%>' found");
        c->pos = i + 4;
        trim_line(c);
        return 0;
    }
    if (c->pos < n && s[c->pos] == '#') {
        size_t i = c->pos + 1;
        while (i + 1 < n && !(s[i] == '%' && s[i + 1] == '>'))
            i++;
        if (i + 1 >= n)
            return fail(c, tag_at, "unclosed '<%%#' comment: no '%%>' found");
        c->pos = i + 2;
        trim_line(c);
        return 0;
    }
    int kind = TAG_CODE;
    const char *opener = "<%";
    if (c->pos + 1 < n && s[c->pos] == '=' && s[c->pos + 1] == '=') {
        kind = TAG_RAW;
        opener = "<%==";
        c->pos += 2;
    } else if (c->pos < n && s[c->pos] == '=') {
        kind = TAG_OUT;
        opener = "<%=";
        c->pos += 1;
    }
    size_t code_at = c->pos, code_end = 0;
    if (scan_code(c, tag_at, opener, &code_end))
        return -1;
    if (kind == TAG_CODE) {
        trim_line(c);
        flush_text(c);
        c->bol = s[c->pos - 1] == '\n';
        if (blank(s, code_at, code_end))
            return 0;
        put_line(c, code_at);
        put_pad(c, code_at);
        if (put_code(c, code_at, code_end))
            return -1;
        eex_buf_puts(c->out, "\n");
        return 0;
    }
    flush_text(c);
    c->bol = false;
    if (blank(s, code_at, code_end))
        return fail(c, tag_at, "empty expression in '%s' tag", opener);
    eex_buf_puts(c->out, "    {\n        __auto_type dyn__v =\n");
    put_line(c, code_at);
    put_pad(c, code_at);
    if (put_code(c, code_at, code_end))
        return -1;
    eex_buf_puts(c->out, "\n");
    put_line(c, code_at);
    eex_buf_printf(c->out, "        ; DYN_TPL_EMIT(dyn_tpl, dyn__v, %d);\n    }\n",
                   kind == TAG_OUT && c->escapes);
    return 0;
}

int eex_compile(const char *src, size_t len, const eex_opts_t *o, eex_buf_t *out, eex_error_t *err)
{
    cc_t c = {
        .src = src, .len = len, .o = o, .out = out, .err = err, .bol = true, .line = 1, .col = 1};
    memset(err, 0, sizeof *err);
    if (len > EEX_MAX_INPUT) {
        snprintf(err->msg, sizeof err->msg, "template too large (%zu bytes; at most %u)", len,
                 EEX_MAX_INPUT);
        return -1;
    }
    const char *nul = memchr(src, '\0', len);
    if (nul)
        return fail(&c, (size_t)(nul - src), "NUL byte in template");
    c.escapes = eex_format_escapes(eex_format(o->name));

    eex_buf_puts(out, "/* generated by dyn-eex from ");
    for (const char *p = o->path; *p; p++) { /* a path holding star-slash must not end it */
        eex_buf_put(out, p, 1);
        if (p[0] == '*' && p[1] == '/')
            eex_buf_puts(out, " ");
    }
    eex_buf_puts(out, ", do not edit */\n#include \"dynamo/template.h\"\n");
    for (size_t i = 0; i < o->nincludes; i++)
        eex_buf_printf(out, "#include \"%s\"\n", o->includes[i]);
    eex_buf_printf(out, "\nvoid %s(dyn_tpl_t *dyn_tpl);\nvoid %s(dyn_tpl_t *dyn_tpl)\n{\n", o->func,
                   o->func);
    eex_buf_puts(out, "    DYN_TPL_BEGIN(dyn_tpl);\n");

    int rc = 0;
    while (c.pos < len) {
        const char *lt = memchr(src + c.pos, '<', len - c.pos);
        if (!lt) {
            eex_buf_put(&c.text, src + c.pos, len - c.pos);
            c.pos = len;
            break;
        }
        size_t at = (size_t)(lt - src);
        eex_buf_put(&c.text, src + c.pos, at - c.pos);
        if (at + 1 < len && src[at + 1] == '%') {
            if (at + 2 < len && src[at + 2] == '%') { /* <%% */
                eex_buf_puts(&c.text, "<%");
                c.pos = at + 3;
                continue;
            }
            c.pos = at + 2;
            if ((rc = tag(&c, at)))
                break;
        } else {
            eex_buf_puts(&c.text, "<");
            c.pos = at + 1;
        }
    }
    if (rc == 0) {
        flush_text(&c);
        put_line(&c, len);
        eex_buf_puts(out, "}\n");
        if (out->failed || c.text.failed) {
            memset(err, 0, sizeof *err);
            snprintf(err->msg, sizeof err->msg, "out of memory");
            rc = -1;
        }
    }
    eex_buf_free(&c.text);
    return rc;
}

/* ---- registries --------------------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int eex_registry(const char *set, const char *const *names, size_t n, bool module, eex_buf_t *out,
                 eex_error_t *err)
{
    memset(err, 0, sizeof *err);
    if (!eex_is_ident(set)) {
        snprintf(err->msg, sizeof err->msg, "set name '%s' is not a C identifier", set);
        return -1;
    }
    const char **sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return -1;
    }
    memcpy(sorted, names, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_names);
    for (size_t i = 0; i < n; i++) {
        if (!sorted[i][0] || (i > 0 && !strcmp(sorted[i], sorted[i - 1]))) {
            snprintf(err->msg, sizeof err->msg, "%s template name '%s' in set %s",
                     sorted[i][0] ? "duplicate" : "empty", sorted[i], set);
            free(sorted);
            return -1;
        }
    }
    eex_buf_printf(out, "/* generated by dyn-eex: the templates of set %s, do not edit */\n", set);
    eex_buf_puts(out, "#include \"dynamo/template.h\"\n\n");
    for (size_t i = 0; i < n; i++) {
        eex_buf_puts(out, "void ");
        eex_func_name(out, set, sorted[i]);
        eex_buf_puts(out, "(dyn_tpl_t *dyn_tpl);\n");
    }
    eex_buf_printf(out, "\nstatic const dyn_template_t dyn__templates_%s[] = {\n", set);
    for (size_t i = 0; i < n; i++) {
        eex_buf_puts(out, "    {\"");
        put_cstr(out, sorted[i], strlen(sorted[i]));
        eex_buf_puts(out, "\", \"");
        const char *f = eex_format(sorted[i]);
        put_cstr(out, f, strlen(f));
        eex_buf_puts(out, "\", ");
        eex_func_name(out, set, sorted[i]);
        eex_buf_puts(out, "},\n");
    }
    if (n == 0)
        eex_buf_puts(out, "    {0},\n");
    eex_buf_puts(out, "};\n\n");
    eex_buf_printf(out, "DYN_TEMPLATES_DEFINE(%s, dyn__templates_%s, %zu);\n", set, set, n);
    if (!module)
        eex_buf_printf(out, "DYN_TEMPLATES_REGISTER(%s);\n", set);
    free(sorted);
    if (out->failed) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return -1;
    }
    return 0;
}
