/* tls: builds the server's OpenSSL context (Mozilla's "intermediate" profile: TLS 1.2 and 1.3,
 * forward-secret AEAD ciphers only). Start-up only; no I/O after that. */
#ifndef LOGEER_TLS_H
#define LOGEER_TLS_H

/* Returns an SSL_CTX * (as void * so callers need no OpenSSL headers), or NULL with a message
 * on stderr when the certificate or key cannot be loaded or do not match. */
void *tls_server_context(const char *cert_file, const char *key_file);
void tls_context_free(void *ctx);

/* The unix time at which the context's certificate expires (its notAfter), or -1 when it
 * cannot be read. For the expiry gauge: the context is built once, so this is fixed too. */
long long tls_certificate_not_after(void *ctx);

#endif
