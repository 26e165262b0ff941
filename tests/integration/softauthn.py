"""softauthn: a software passkey authenticator and browser client for tests, written apart from
the server's C code (its own CBOR encoder, Python's `cryptography` for keys and signatures), so
that the server's checks are judged by an independent implementation. It builds what
navigator.credentials.create() and .get() hand to a page, in the JSON form the pages send
(binary members base64url), and can break any part of it on purpose."""

import base64
import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

ES256, EDDSA, RS256, ES384 = -7, -8, -257, -35
UP, UV, AT, ED = 0x01, 0x04, 0x40, 0x80


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for info, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if n < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | info]) + struct.pack(fmt, n)
    raise ValueError(n)


def cbor(value):
    """CBOR with definite lengths (CTAP2's canonical form, keys in the order given)."""
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode()
        return _head(3, len(raw)) + raw
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(type(value))


class Authenticator:
    """One credential on one authenticator: its key, id and signature counter."""

    def __init__(self, alg=ES256, sign_count=0, counter_step=1, user_handle=b""):
        self.alg = alg
        if alg == ES256:
            self.key = ec.generate_private_key(ec.SECP256R1())
        elif alg == ES384:
            self.key = ec.generate_private_key(ec.SECP384R1())
        elif alg == EDDSA:
            self.key = ed25519.Ed25519PrivateKey.generate()
        elif alg == RS256:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            raise ValueError(alg)
        self.cred_id = os.urandom(32)
        self.sign_count = sign_count
        self.counter_step = counter_step  # 0: an authenticator that keeps no counter
        self.user_handle = user_handle

    def cose_key(self):
        pub = self.key.public_key()
        if self.alg in (ES256, ES384):
            nums = pub.public_numbers()
            size = 32 if self.alg == ES256 else 48
            return {1: 2, 3: self.alg, -1: 1 if self.alg == ES256 else 2,
                    -2: nums.x.to_bytes(size, "big"), -3: nums.y.to_bytes(size, "big")}
        if self.alg == EDDSA:
            from cryptography.hazmat.primitives import serialization
            raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            return {1: 1, 3: EDDSA, -1: 6, -2: raw}
        nums = pub.public_numbers()
        return {1: 3, 3: RS256, -1: nums.n.to_bytes(256, "big"), -2: nums.e.to_bytes(3, "big")}

    def sign(self, data):
        if self.alg == ES256:
            return self.key.sign(data, ec.ECDSA(hashes.SHA256()))
        if self.alg == ES384:
            return self.key.sign(data, ec.ECDSA(hashes.SHA384()))
        if self.alg == EDDSA:
            return self.key.sign(data)
        return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def auth_data(self, rp_id, flags, attested):
        body = hashlib.sha256(rp_id.encode()).digest() + bytes([flags])
        body += struct.pack(">I", self.sign_count)
        if attested:
            body += bytes(16) + struct.pack(">H", len(self.cred_id)) + self.cred_id
            body += cbor(self.cose_key())
        return body

    def create(self, rp_id, origin, challenge, fmt="none", flags=UP | UV | AT,
               ctype="webauthn.create", cross_origin=False, bad_attestation=False):
        """navigator.credentials.create()'s answer as JSON; challenge is base64url text."""
        client_data = json.dumps({"type": ctype, "challenge": challenge, "origin": origin,
                                  "crossOrigin": cross_origin}).encode()
        auth = self.auth_data(rp_id, flags, attested=bool(flags & AT))
        stmt = {}
        if fmt == "packed":
            sig = self.sign(auth + hashlib.sha256(client_data).digest())
            if bad_attestation:
                sig = sig[:-1] + bytes([sig[-1] ^ 1])
            stmt = {"alg": self.alg, "sig": sig}
        elif fmt != "none":
            stmt = {"ver": "2.0"}
        attestation = cbor({"fmt": fmt, "attStmt": stmt, "authData": auth})
        return {"id": b64u(self.cred_id), "rawId": b64u(self.cred_id), "type": "public-key",
                "response": {"clientDataJSON": b64u(client_data),
                             "attestationObject": b64u(attestation),
                             "transports": ["internal"]}}

    def get(self, rp_id, origin, challenge, flags=UP | UV, ctype="webauthn.get",
            tamper=False):
        """navigator.credentials.get()'s answer as JSON; the counter moves on first."""
        self.sign_count += self.counter_step
        client_data = json.dumps({"type": ctype, "challenge": challenge, "origin": origin,
                                  "crossOrigin": False}).encode()
        auth = self.auth_data(rp_id, flags, attested=False)
        sig = self.sign(auth + hashlib.sha256(client_data).digest())
        if tamper:
            sig = sig[:8] + bytes([sig[8] ^ 0x40]) + sig[9:]
        return {"id": b64u(self.cred_id), "rawId": b64u(self.cred_id), "type": "public-key",
                "response": {"clientDataJSON": b64u(client_data),
                             "authenticatorData": b64u(auth), "signature": b64u(sig),
                             "userHandle": b64u(self.user_handle) if self.user_handle else None}}
