/* ticket.h: oVirt engine tickets, the signed envelope every request to the
 * engine's vmconsole-proxy service travels in (what ovirt-engine's
 * TicketEncoder produces and its TicketDecoder checks). */
#ifndef SERCON_TICKET_H
#define SERCON_TICKET_H

#include <stddef.h>
#include <time.h>

#define TICKET_LIFETIME 5          /* seconds, as the engine's encoder */
#define TICKET_SIGNED_FIELDS "salt,validFrom,validTo,data"
/* The extended key usage the engine's TicketDecoder demands of a ticket
 * certificate (without it the engine answers 500, not 403). */
#define TICKET_EKU "1.3.6.1.4.1.2312.13.1.2.1.1"

struct ticket_signer;

/* Loads the ticket certificate (PEM, the first certificate of the file) and
 * its RSA private key (PEM), and checks them as the engine will: the
 * certificate carries TICKET_EKU, is valid now (and any key usage allows
 * signatures), the key is its own and can make an RSA-PSS SHA-256
 * signature. Returns NULL with a reason that says what to fix in err. */
struct ticket_signer *ticket_signer_load(const char *cert_path,
    const char *key_path, char *err, size_t errlen);

/* The same checks at time now, for `sercon-setup check`: 0 when the pair
 * is usable, else -1 with the reason in err. */
int ticket_check(const char *cert_path, const char *key_path, time_t now,
    char *err, size_t errlen);
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
