/*
 * ident: DNS identifiers as ACME wants them.
 */
#ifndef IDENT_H
#define IDENT_H

#include <stddef.h>

/*
 * Normalises a name: lower case, trailing dot removed, U-labels converted
 * to A-labels (IDNA2008 via libidn2), an optional leading "*." kept.
 * Refuses what is not a valid host name: empty, empty labels, a label over
 * 63 octets or a name over 253, characters other than [a-z0-9-], labels
 * that start or end with '-', a wildcard anywhere but the first label.
 * Input that is not UTF-8 is refused; so are labels IDNA2008 forbids
 * (bad punycode, "ab--" reserved labels, bidi rules) and an all-digit
 * top-level label (RFC 3696: keeps IPv4 addresses out of DNS names).
 * Single-label names ("localhost") are accepted on purpose: public CAs
 * refuse them, but a private ACME CA may issue for them, and the CA's
 * own refusal is recorded like any other problem.
 * Returns a new string (caller frees) or NULL with a short lower-case
 * reason in why (control characters shown as \xNN).
 */
char *ident_normalize(const char *name, char *why, size_t whylen);

/* 1 when name (already normalised) is a wildcard "*.x". */
int ident_is_wildcard(const char *name);

#endif
