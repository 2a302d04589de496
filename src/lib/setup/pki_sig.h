/* pki_sig.h: verification of an OpenSSH signature (the signature blob of a
 * certificate) with libcrypto, so that sercon-setup decides trust from a
 * checked signature and not from what a tool printed. */
#ifndef SERCON_PKI_SIG_H
#define SERCON_PKI_SIG_H

#include <stddef.h>

/* Verifies sig (an SSH signature blob: string algorithm, string signature
 * [, flags and counter for security keys]) over data with key (a plain
 * public key blob of sercon's types). RSA signatures must be
 * rsa-sha2-256 or rsa-sha2-512 (never SHA-1). Returns 0 when the
 * signature is good, -1 with a reason otherwise. A fuzzing entry point. */
int pki_sig_verify(const unsigned char *key, size_t keylen,
    const unsigned char *sig, size_t siglen, const unsigned char *data,
    size_t datalen, char *err, size_t errlen);

#endif
