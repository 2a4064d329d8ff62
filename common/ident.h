/*
 * ident: identifiers as ACME wants them: DNS names (RFC 8555) and IP
 * addresses (RFC 8738).
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

/*
 * Canonical text of an IP address (IPv4 dotted quad; IPv6 as RFC 5952
 * section 4: lower case, longest run of zero fields compressed) or NULL
 * when name is not an address. ident_normalize() returns the same for an
 * address, so a normalised name is an address exactly when this gives it
 * back unchanged. Refused there, with a reason: IPv4 with leading zeros
 * or fewer than four parts (inet_aton's forms, read differently by
 * different programs), IPv6 zone indices ("%eth0") and IPv4-mapped IPv6
 * (write the IPv4 address). Returns a new string (caller frees).
 */
char *ident_ip(const char *name);

/*
 * AF_INET or AF_INET6 when name (already normalised) is an IP address,
 * 0 when it is a DNS name. An address is an "ip" identifier in orders
 * and an iPAddress in certificates.
 */
int ident_ip_family(const char *name);

/*
 * The address of a normalised name in network order into buf (16
 * octets): its length (4 or 16), or 0 when it is not an address.
 */
size_t ident_ip_bytes(const char *name, unsigned char *buf);

/*
 * The canonical text (as ident_ip()) of an address of len octets (4 or
 * 16, network order) into buf (at least 46 bytes). Returns buf, or NULL
 * for another length: a certificate's iPAddress may hold anything.
 */
char *ident_ip_text(const unsigned char *a, size_t len, char *buf,
    size_t buflen);

/* 1 when name (already normalised) is a wildcard "*.x". */
int ident_is_wildcard(const char *name);

#endif
