#!/usr/bin/python3
"""Mint the JWT fixtures for tests/unit/test_turn_jwt.c with an implementation
independent of ours: PyJWT 2.6 and python3-cryptography (Debian 12 packages).

Run with Debian's interpreter from anywhere:

    /usr/bin/python3 tests/jwt/make_fixtures.py            # reuse keys, re-mint tokens
    /usr/bin/python3 tests/jwt/make_fixtures.py --new-keys # also regenerate the keys

Every key under keys/ is a TEST key, generated here and named test-*; none of
them protects anything.  Tokens carry fixed iat/exp so the C tests pass a fixed
"now" (NOW below) and never depend on the clock.  Tokens that PyJWT refuses to
produce (alg confusion, duplicate keys, crit, malformed encodings) are built by
hand, still signed with PyJWT's own algorithm objects where a signature is
meaningful, or with hmac for the alg-confusion attack that PyJWT forbids.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import pathlib
import sys

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

HERE = pathlib.Path(__file__).resolve().parent
KEYS = HERE / "keys"
TOKENS = HERE / "tokens"

# Keep in step with tests/unit/test_turn_jwt.c.
IAT = 1_700_000_000
EXP = IAT + 900  # Kartograph issues 15-minute tokens
NOW = IAT + 100
LIMIT = 8192  # the verifier's token size limit
SESSION = "sess-7f3a"
TENANT = "tenant-acme"
GRAPH = "kg-0042"
JTI = "01HZY3KX2V8W6Q4T5R7N9M0B1C"

ALGORITHMS = jwt.algorithms.get_default_algorithms()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def base_claims(**changes):
    claims = {
        "sub": "workload",
        "iss": "kartograph",
        "aud": "extraction-workload",
        "jti": JTI,
        "scopes": [
            f"session:{SESSION}",
            f"tenant:{TENANT}",
            f"knowledge_graph:{GRAPH}",
            "workload:chat",
        ],
        "iat": IAT,
        "exp": EXP,
    }
    for name, value in changes.items():
        if value is DELETE:
            del claims[name]
        else:
            claims[name] = value
    return claims


DELETE = object()


# ---------------------------------------------------------------- keys

def write_private(path, key):
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def write_public(path, key):
    path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def make_keys():
    KEYS.mkdir(exist_ok=True)
    generators = {
        "rsa2048": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "rsa2048-other": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "rsa1024": lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024),
        "p256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "p256-other": lambda: ec.generate_private_key(ec.SECP256R1()),
        "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate,
        "ed25519-other": ed25519.Ed25519PrivateKey.generate,
        "ed448": ed448.Ed448PrivateKey.generate,
    }
    for name, generate in generators.items():
        key = generate()
        write_private(KEYS / f"test-{name}-private.pem", key)
        write_public(KEYS / f"test-{name}-public.pem", key)
    # Printable, as Kartograph's shared secret is an environment string.
    for name in ("hs256-secret", "hs256-other-secret"):
        (KEYS / f"test-{name}.txt").write_text(base64.b64encode(os.urandom(36)).decode())


def load_private(name):
    return serialization.load_pem_private_key(
        (KEYS / f"test-{name}-private.pem").read_bytes(), password=None)


def load_secret(name):
    return (KEYS / f"test-{name}.txt").read_bytes()


# ---------------------------------------------------------------- tokens

def sign_raw(algorithm: str, key, header: bytes, payload: bytes) -> str:
    """A compact JWS over exactly these header and payload bytes."""
    signing_input = f"{b64url(header)}.{b64url(payload)}".encode()
    implementation = ALGORITHMS[algorithm]
    signature = implementation.sign(signing_input, implementation.prepare_key(key))
    return f"{signing_input.decode()}.{b64url(signature)}"


def with_signature(token: str, signature: bytes) -> str:
    head, payload, _ = token.split(".")
    return f"{head}.{payload}.{b64url(signature)}"


def flip_signature_bit(token: str) -> str:
    signature = bytearray(b64url_decode(token.split(".")[2]))
    signature[len(signature) // 2] ^= 0x01
    return with_signature(token, bytes(signature))


def non_canonical_last_char(token: str) -> str:
    """Same decoded bytes to a lenient decoder, but the unused low bits of the
    last base64url character set: a strict decoder must refuse it."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    value = alphabet.index(token[-1])
    assert value & 0x0F == 0 or value & 0x03 == 0
    return token[:-1] + alphabet[value | 0x01]


def sized_token(key, size: int) -> str:
    """A validly signed HS256 token of exactly size characters."""
    for kid_length in range(0, 4):
        header = compact({"alg": "HS256", "typ": "JWT", "kid": "k" * kid_length})
        for pad in range(size):
            token = sign_raw("HS256", key, header, compact(base_claims(pad="x" * pad)))
            if len(token) == size:
                return token
            if len(token) > size:
                break
    raise SystemExit(f"cannot build a token of exactly {size} characters")


def url_alphabet_token(key) -> str:
    """A valid token whose encoding contains '-' or '_' (so the standard-alphabet
    variant differs), found by varying the jti."""
    for counter in range(10000):
        token = jwt.encode(base_claims(jti=f"{JTI}-{counter}"), key, algorithm="HS256")
        if "-" in token or "_" in token:
            return token
    raise SystemExit("no token with '-' or '_' found")


def mint_tokens():
    secret = load_secret("hs256-secret")
    other_secret = load_secret("hs256-other-secret")
    rsa_key = load_private("rsa2048")
    p256 = load_private("p256")
    ed25519_key = load_private("ed25519")
    hs256 = lambda claims, **kw: jwt.encode(claims, secret, algorithm="HS256", **kw)
    hs256_raw = lambda header, payload: sign_raw("HS256", secret, header, payload)

    tokens = {}
    # Valid, one per algorithm, as Kartograph would issue them.
    tokens["valid-hs256"] = hs256(base_claims())
    tokens["valid-rs256"] = jwt.encode(base_claims(), rsa_key, algorithm="RS256")
    tokens["valid-es256"] = jwt.encode(base_claims(), p256, algorithm="ES256")
    tokens["valid-eddsa-ed25519"] = jwt.encode(base_claims(), ed25519_key, algorithm="EdDSA")
    tokens["valid-eddsa-ed448"] = jwt.encode(base_claims(), load_private("ed448"),
                                             algorithm="EdDSA")
    tokens["valid-hs256-without-typ"] = hs256(base_claims(), headers={"typ": None})
    tokens["valid-hs256-typ-lowercase"] = hs256(base_claims(), headers={"typ": "jwt"})
    tokens["valid-hs256-with-kid"] = hs256(base_claims(), headers={"kid": "2024-01"})
    tokens["valid-hs256-aud-array"] = hs256(base_claims(aud=["kartograph-api",
                                                              "extraction-workload"]))
    tokens["valid-hs256-nbf-past"] = hs256(base_claims(nbf=IAT))
    tokens["valid-hs256-fractional-exp"] = hs256(base_claims(exp=EXP + 0.5))
    tokens["valid-hs256-jti-128-bytes"] = hs256(base_claims(jti="j" * 128))
    tokens["valid-hs256-only-workload-chat"] = hs256(base_claims(scopes=["workload:chat"]))
    tokens["valid-hs256-extra-scopes"] = hs256(base_claims(
        scopes=["read:everything"] + base_claims()["scopes"] + ["write:nothing"]))
    tokens["valid-hs256-8192-bytes"] = sized_token(secret, LIMIT)

    # Time.
    tokens["expired-hs256"] = hs256(base_claims(iat=IAT - 7200, exp=IAT - 7200 + 900))
    tokens["future-iat-hs256"] = hs256(base_claims(iat=NOW + 3600, exp=NOW + 4500))
    tokens["future-nbf-hs256"] = hs256(base_claims(nbf=NOW + 3600))
    tokens["missing-exp-hs256"] = hs256(base_claims(exp=DELETE))
    tokens["missing-iat-hs256"] = hs256(base_claims(iat=DELETE))
    tokens["string-exp-hs256"] = hs256(base_claims(exp=str(EXP)))
    tokens["boolean-iat-hs256"] = hs256(base_claims(iat=True))
    tokens["huge-exp-hs256"] = hs256(base_claims(exp=1e300))
    tokens["max-integer-exp-hs256"] = hs256(base_claims(exp=2**63 - 1))

    # Issuer and audience.
    tokens["wrong-iss-hs256"] = hs256(base_claims(iss="kartograph-staging"))
    tokens["missing-iss-hs256"] = hs256(base_claims(iss=DELETE))
    tokens["wrong-aud-hs256"] = hs256(base_claims(aud="kartograph-api"))
    tokens["missing-aud-hs256"] = hs256(base_claims(aud=DELETE))
    tokens["aud-array-without-audience-hs256"] = hs256(base_claims(aud=["kartograph-api"]))
    tokens["aud-array-with-number-hs256"] = hs256(base_claims(aud=["extraction-workload", 7]))

    # jti.
    tokens["missing-jti-hs256"] = hs256(base_claims(jti=DELETE))
    tokens["empty-jti-hs256"] = hs256(base_claims(jti=""))
    tokens["jti-129-bytes-hs256"] = hs256(base_claims(jti="j" * 129))
    tokens["numeric-jti-hs256"] = hs256(base_claims(jti=12345))

    # Scopes.
    scopes = base_claims()["scopes"]
    tokens["wrong-session-scope-hs256"] = hs256(base_claims(
        scopes=["session:sess-other"] + scopes[1:]))
    tokens["session-scope-with-suffix-hs256"] = hs256(base_claims(
        scopes=[f"session:{SESSION}-evil"] + scopes[1:]))
    tokens["session-scope-prefix-only-hs256"] = hs256(base_claims(
        scopes=[f"session:{SESSION[:-1]}"] + scopes[1:]))
    tokens["wrong-tenant-scope-hs256"] = hs256(base_claims(
        scopes=[scopes[0], "tenant:tenant-other", scopes[2], scopes[3]]))
    tokens["wrong-graph-scope-hs256"] = hs256(base_claims(
        scopes=[scopes[0], scopes[1], "knowledge_graph:kg-9999", scopes[3]]))
    tokens["missing-workload-chat-scope-hs256"] = hs256(base_claims(scopes=scopes[:3]))
    tokens["missing-scopes-hs256"] = hs256(base_claims(scopes=DELETE))
    tokens["string-scopes-hs256"] = hs256(base_claims(scopes=" ".join(scopes)))
    tokens["scopes-with-number-hs256"] = hs256(base_claims(scopes=scopes + [1]))

    # Header attacks.
    payload = compact(base_claims())
    none_header = b64url(compact({"alg": "none", "typ": "JWT"}))
    tokens["alg-none"] = f"{none_header}.{b64url(payload)}."
    tokens["alg-none-with-hs256-signature"] = (
        f"{none_header}.{b64url(payload)}.{tokens['valid-hs256'].split('.')[2]}")
    # The classic confusion: HS256 keyed with the verifier's RSA public key PEM,
    # which an attacker can read.  PyJWT refuses such a key, so hmac it is.
    rsa_public_pem = (KEYS / "test-rsa2048-public.pem").read_bytes()
    signing_input = f"{b64url(compact({'alg': 'HS256', 'typ': 'JWT'}))}.{b64url(payload)}"
    mac = hmac.new(rsa_public_pem, signing_input.encode(), hashlib.sha256).digest()
    tokens["alg-confusion-hs256-with-rsa-public-key"] = f"{signing_input}.{b64url(mac)}"
    tokens["duplicate-alg-in-header-hs256"] = hs256_raw(
        b'{"alg":"HS256","alg":"HS256","typ":"JWT"}', payload)
    tokens["duplicate-iss-in-payload-hs256"] = hs256_raw(
        compact({"alg": "HS256", "typ": "JWT"}),
        payload.replace(b'"iss":"kartograph"', b'"iss":"evil","iss":"kartograph"'))
    tokens["crit-header-hs256"] = hs256(base_claims(), headers={"crit": ["exp"], "exp": EXP})
    tokens["empty-crit-header-hs256"] = hs256(base_claims(), headers={"crit": []})
    tokens["typ-at-jwt-hs256"] = hs256(base_claims(), headers={"typ": "at+jwt"})
    tokens["header-not-object-hs256"] = hs256_raw(b'["HS256"]', payload)
    tokens["header-not-json-hs256"] = hs256_raw(b'{"alg":"HS256",', payload)
    tokens["payload-not-object-hs256"] = hs256_raw(compact({"alg": "HS256", "typ": "JWT"}),
                                                   compact([base_claims()]))
    tokens["payload-not-json-hs256"] = hs256_raw(compact({"alg": "HS256", "typ": "JWT"}),
                                                 b"kartograph")

    # Signatures.
    tokens["bad-signature-hs256"] = flip_signature_bit(tokens["valid-hs256"])
    tokens["bad-signature-rs256"] = flip_signature_bit(tokens["valid-rs256"])
    tokens["bad-signature-es256"] = flip_signature_bit(tokens["valid-es256"])
    tokens["bad-signature-eddsa"] = flip_signature_bit(tokens["valid-eddsa-ed25519"])
    tokens["other-key-hs256"] = jwt.encode(base_claims(), other_secret, algorithm="HS256")
    tokens["other-key-rs256"] = jwt.encode(base_claims(), load_private("rsa2048-other"),
                                           algorithm="RS256")
    tokens["other-key-es256"] = jwt.encode(base_claims(), load_private("p256-other"),
                                           algorithm="ES256")
    tokens["other-key-eddsa"] = jwt.encode(base_claims(), load_private("ed25519-other"),
                                           algorithm="EdDSA")
    # ES256 signed correctly but carrying the DER encoding instead of JWS's raw R||S.
    es_input = tokens["valid-es256"].rsplit(".", 1)[0].encode()
    der = p256.sign(es_input, ec.ECDSA(hashes.SHA256()))
    tokens["der-signature-es256"] = f"{es_input.decode()}.{b64url(der)}"
    tokens["signature-of-other-payload-hs256"] = with_signature(
        tokens["wrong-session-scope-hs256"],
        b64url_decode(tokens["valid-hs256"].split(".")[2]))

    # Form.
    valid = tokens["valid-hs256"]
    tokens["truncated-signature-hs256"] = valid[:-4]
    tokens["truncated-to-two-parts-hs256"] = valid.rsplit(".", 1)[0]
    tokens["truncated-mid-payload-hs256"] = valid[: valid.index(".") + 20]
    tokens["empty-signature-hs256"] = valid.rsplit(".", 1)[0] + "."
    tokens["four-parts-hs256"] = valid + "." + valid.split(".")[2]
    tokens["huge-8193-bytes-hs256"] = sized_token(secret, LIMIT + 1)
    tokens["huge-64k-hs256"] = hs256(base_claims(pad="x" * 65536))
    padded_signature = base64.urlsafe_b64encode(b64url_decode(valid.split(".")[2])).decode()
    assert padded_signature.endswith("=")
    tokens["padded-signature-hs256"] = valid.rsplit(".", 1)[0] + "." + padded_signature
    url = url_alphabet_token(secret)
    tokens["standard-alphabet-hs256"] = url.replace("-", "+").replace("_", "/")
    tokens["space-inside-hs256"] = valid[:30] + " " + valid[30:]
    tokens["trailing-newline-hs256"] = valid + "\n"
    tokens["non-canonical-base64-signature-hs256"] = non_canonical_last_char(valid)
    return tokens


def pyjwt_decode(token, algorithm, key_name):
    key = (load_secret("hs256-secret") if key_name == "hs256" else
           (KEYS / f"test-{key_name}-public.pem").read_bytes())
    return jwt.decode(token, key, algorithms=[algorithm], audience="extraction-workload",
                      issuer="kartograph",
                      options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})


def check_with_pyjwt(tokens):
    """Cross-check with PyJWT (time is checked by the C tests at a fixed now):
    the valid fixtures verify, and the forged ones fail PyJWT's signature or
    algorithm check too, so they are bad for the reason their name says."""
    keys = {"HS256": "hs256", "RS256": "rsa2048", "ES256": "p256"}
    for name, token in tokens.items():
        if not name.startswith("valid-"):
            continue
        algorithm = jwt.get_unverified_header(token)["alg"]
        key_name = keys.get(algorithm, "ed448" if "ed448" in name else "ed25519")
        pyjwt_decode(token, algorithm, key_name)
    forged = {
        "bad-signature-hs256": ("HS256", "hs256"),
        "bad-signature-rs256": ("RS256", "rsa2048"),
        "bad-signature-es256": ("ES256", "p256"),
        "bad-signature-eddsa": ("EdDSA", "ed25519"),
        "other-key-hs256": ("HS256", "hs256"),
        "other-key-rs256": ("RS256", "rsa2048"),
        "other-key-es256": ("ES256", "p256"),
        "other-key-eddsa": ("EdDSA", "ed25519"),
        "der-signature-es256": ("ES256", "p256"),
        "signature-of-other-payload-hs256": ("HS256", "hs256"),
        "alg-none": ("RS256", "rsa2048"),
        "alg-confusion-hs256-with-rsa-public-key": ("RS256", "rsa2048"),
    }
    for name, (algorithm, key_name) in forged.items():
        try:
            pyjwt_decode(tokens[name], algorithm, key_name)
        except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
            continue
        raise SystemExit(f"{name}: PyJWT accepts it, so it is not the forgery it claims")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new-keys", action="store_true", help="regenerate the test keys")
    arguments = parser.parse_args()
    if arguments.new_keys or not (KEYS / "test-hs256-secret.txt").exists():
        make_keys()
    tokens = mint_tokens()
    check_with_pyjwt(tokens)
    TOKENS.mkdir(exist_ok=True)
    for old in TOKENS.glob("*.jwt"):
        old.unlink()
    for name, token in tokens.items():
        (TOKENS / f"{name}.jwt").write_text(token)
    print(f"{len(tokens)} tokens in {TOKENS}", file=sys.stderr)


if __name__ == "__main__":
    main()
