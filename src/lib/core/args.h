/* args.h: splits SSH_ORIGINAL_COMMAND into words the way a POSIX shell
 * would split a simple command (blanks, '...', "...", backslash), with no
 * expansion of any kind and no shell involved. */
#ifndef SERCON_ARGS_H
#define SERCON_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#define ARGS_MAX_WORDS 64
#define ARGS_MAX_LINE  4096

/* On success returns 0 and a NULL-terminated, malloc'd vector (free it with
 * args_free); *argcp gets the count. On a syntax error (unterminated quote,
 * too many words, too long, NUL or control character) returns -1 and writes
 * a one-line reason into err. */
int args_split(const char *line, char ***argvp, int *argcp, char *err,
    size_t errlen);
void args_free(char **argv);

/* If arg is "--name=value" or "--name" returns the value ("" for none) and
 * NULL otherwise. */
const char *args_opt(const char *arg, const char *name);

/* Stores a copy of value in *slot unless the option was given before (or,
 * when nonempty, value is ""). what names the option in the reason written
 * to err ("--vm-id given twice"). Returns 0 or -1. */
int args_set_once(char **slot, const char *value, const char *what,
    bool nonempty, char *err, size_t errlen);

#endif
