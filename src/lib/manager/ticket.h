/* ticket.h: oVirt engine tickets, the signed envelope every request to the
 * engine's vmconsole-proxy service travels in (what ovirt-engine's
 * TicketEncoder produces and its TicketDecoder checks). */
#ifndef SERCON_TICKET_H
#define SERCON_TICKET_H

#include <stddef.h>
#include <time.h>

#define TICKET_LIFETIME 5          /* seconds, as the engine's encoder */
#define TICKET_SIGNED_FIELDS "salt,validFrom,validTo,data"

struct ticket_signer;

/* Loads the ticket certificate (PEM, the first certificate of the file) and
 * its RSA private key (PEM). Returns NULL with a reason in err. */
struct ticket_signer *ticket_signer_load(const char *cert_path,
    const char *key_path, char *err, size_t errlen);
void ticket_signer_free(struct ticket_signer *s);

/* Encodes data (a JSON text) into a ticket valid from now to now +
 * TICKET_LIFETIME: base64 of the JSON object {salt, validFrom, validTo,
 * data, signedFields, v2_signature, certificate}. v2_signature is RSA-PSS
 * with SHA-256, MGF1 SHA-256 and the maximum salt length over the
 * concatenated values of the signed fields. Returns a malloc'd NUL-
 * terminated string, or NULL with a reason in err. */
char *ticket_encode(const struct ticket_signer *s, const char *data,
    time_t now, char *err, size_t errlen);

/* Base64 (standard alphabet, padded, one line). Returns a malloc'd string
 * or NULL when len is beyond 1 GiB. */
char *ticket_b64_encode(const unsigned char *buf, size_t len);

#endif
