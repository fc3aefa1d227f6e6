/*
 * The template compiler's core: EEx-style templates in, C source out, no I/O.
 *
 * dyn-eex (main.c) reads files and writes what this produces; the unit tests and the fuzzer
 * (tests/fuzz/eex_fuzz.c) drive it directly. The language (docs/templates.md):
 *
 *     text             copied to the output (as a C string literal)
 *     <% code %>       C statements, run where they stand
 *     <%= expr %>      the value of a C expression, HTML-escaped in html templates
 *     <%== expr %>     the same, never escaped
 *     <%# text %>      a comment (ends at the first %>)
 *     <%!-- text --%>  a comment that may hold %>
 *     <%%              a literal "<%" in the text
 *     @name            inside code: the assign `name` (a const dyn_value_t *)
 *
 * Inside a tag the code is lexed as C: "%>" inside a string or character literal or a block
 * comment does not close the tag, so `<%= strstr(s, "%>") %>` works; a line comment ends at
 * the end of its line or at %>. A line holding nothing but one statement or comment tag (and
 * blanks) leaves no blank line behind: its leading blanks and its newline are dropped.
 *
 * Every piece of code is preceded by a #line directive naming the template and the line, and
 * padded so that it starts at its template column: the C compiler's errors and warnings, the
 * debugger and backtraces all point into the .eex file. An @name expansion shifts the columns
 * of what follows it on its line.
 *
 * Errors are positioned (1-based line and column, columns counting UTF-8 characters) and the
 * compiler stops at the first: an unclosed tag or comment, an unterminated string or character
 * literal or block comment inside a tag, an empty <%= %>, '@' without a name, a NUL byte,
 * input past EEX_MAX_INPUT.
 */
#ifndef DYN_EEX_H
#define DYN_EEX_H

#include <stdbool.h>
#include <stddef.h>

/* Largest template accepted (bytes): bounds memory and the generated file's size. */
#define EEX_MAX_INPUT (16u << 20)

/* A growable byte string (malloc). */
typedef struct eex_buf {
    char *data; /* NUL-terminated while not failed */
    size_t len;
    size_t cap;
    bool failed; /* out of memory: the content is truncated */
} eex_buf_t;

void eex_buf_free(eex_buf_t *b);
void eex_buf_put(eex_buf_t *b, const void *p, size_t n);
void eex_buf_puts(eex_buf_t *b, const char *s);
__attribute__((format(printf, 2, 3))) void eex_buf_printf(eex_buf_t *b, const char *fmt, ...);

typedef struct eex_error {
    unsigned line;
    unsigned col;
    char msg[200];
} eex_error_t;

typedef struct eex_opts {
    const char *path;            /* the template's path, as #line and errors name it (required) */
    const char *name;            /* its name for render ("fruits.html") (required) */
    const char *func;            /* the C function to define (required; eex_func_name makes one) */
    const char *const *includes; /* headers to #include after dynamo/template.h */
    size_t nincludes;
    bool no_line; /* omit the #line directives (to read the generated code) */
} eex_opts_t;

/* Compiles the template src[0..len) into a C file defining `void func(dyn_tpl_t *)`, appended
 * to out. Returns 0, or -1 with *err filled (out then holds garbage: discard it). Out of
 * memory is reported as an error at line 0. Any thread; pure. */
int eex_compile(const char *src, size_t len, const eex_opts_t *o, eex_buf_t *out, eex_error_t *err);

/* The format of a template name: what follows its last '.' ("html" for "fruits.html"), or ""
 * if its last path component has no '.'. Returns a pointer into name. */
const char *eex_format(const char *name);
/* Whether <%= %> escapes for HTML in templates of this format: html, htm, xhtml, xml, svg. */
bool eex_format_escapes(const char *format);

/* Whether s is a C identifier ([A-Za-z_][A-Za-z0-9_]*, at most 64 bytes): set names. */
bool eex_is_ident(const char *s);

/* The C function name for template `name` of set `set`: "dyn_tpl_<set>__<mangled>", where
 * letters and digits stay and every other byte becomes _XX (hex), so distinct names never
 * collide. Appends to out. */
void eex_func_name(eex_buf_t *out, const char *set, const char *name);

/* The registry of a set: a C file defining `const dyn_templates_t dyn_templates_<set>` over
 * the given template names (sorted here; duplicates are an error), registered at start-up
 * unless `module` (a reloadable web module reaches its set through its descriptor instead).
 * Returns 0, or -1 with err->msg set. */
int eex_registry(const char *set, const char *const *names, size_t n, bool module, eex_buf_t *out,
                 eex_error_t *err);

#endif
