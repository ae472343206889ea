"""argon2id at OWASP's parameters (m = 19 MiB, t = 2, p = 1)."""
import argon2

HASHER = argon2.PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1,
                               hash_len=32, salt_len=16, type=argon2.Type.ID)
# Verified against when the account does not exist, so that an unknown address costs the same
# time as a wrong password (no user enumeration by timing).
DUMMY_HASH = HASHER.hash("not-a-real-password: timing equaliser")


def hash_password(password):
    return HASHER.hash(password)


def verify(password_hash, password):
    try:
        return HASHER.verify(password_hash, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


def needs_rehash(password_hash):
    return HASHER.check_needs_rehash(password_hash)
