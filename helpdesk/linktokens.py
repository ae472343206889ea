"""Tokens for links in mails (verify email, reset password, initial password, approve/refuse),
derived, not stored.

The owner of the token (identity) draws a random nonce, keeps only `digest(token)` (single use,
expiry) and publishes the nonce in its event. The notifier, which shares the secret, derives the
same token when it renders the mail. So neither an event, nor the mail outbox, nor any table holds
a usable token: a nonce is useless without the secret, and a digest cannot be reversed.
"""
import base64
import hashlib
import hmac
import secrets

NONCE_BYTES = 16  # 128 random bits

# Purposes: part of the MAC, so a token made for one purpose is worthless for another.
VERIFY_EMAIL, RESET_PASSWORD = "verify-email", "reset-password"


def new_nonce():
    return base64.urlsafe_b64encode(secrets.token_bytes(NONCE_BYTES)).rstrip(b"=").decode()


class LinkTokens:
    def __init__(self, secret):
        if not secret or len(secret) < 16:
            raise ValueError("the link secret must be at least 16 characters")
        self._key = secret.encode()

    def derive(self, purpose, subject, nonce):
        """The token for (purpose, subject, nonce): `<nonce>.<mac>`, URL-safe."""
        mac = hmac.new(self._key, f"{purpose}\x00{subject}\x00{nonce}".encode(), hashlib.sha256)
        return f"{nonce}.{base64.urlsafe_b64encode(mac.digest()).rstrip(b'=').decode()}"

    def initial_password(self, subject, nonce):
        """A readable one-time password for an account created by staff (changed at first login)."""
        mac = hmac.new(self._key, f"initial-password\x00{subject}\x00{nonce}".encode(), hashlib.sha256)
        alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes
        raw = int.from_bytes(mac.digest(), "big")
        chars = []
        for _ in range(16):
            raw, index = divmod(raw, len(alphabet))
            chars.append(alphabet[index])
        word = "".join(chars)
        return "-".join(word[i:i + 4] for i in range(0, 16, 4))


def digest(token):
    """What the owner stores of a token: SHA-256 is enough for 128+ random bits (no brute force)."""
    return hashlib.sha256(token.encode()).hexdigest()


class SignedLinks:
    """Stateless, expiring links bound to a subject (e.g. approve this resolution of this ticket,
    for this recipient): `<expiry>.<mac>`. Single use comes from what the link does: approving a
    resolution closes the ticket, and the subject names that resolution, so the link then fails."""

    def __init__(self, secret):
        self._key = secret.encode()

    def sign(self, purpose, subject, expires_at):
        expiry = str(int(expires_at.timestamp()))
        return f"{expiry}.{self._mac(purpose, subject, expiry)}"

    def verify(self, token, purpose, subject, now):
        expiry, _, mac = str(token).partition(".")
        if not expiry.isdigit() or not mac or int(expiry) < now.timestamp():
            return False
        return hmac.compare_digest(mac, self._mac(purpose, subject, expiry))

    def _mac(self, purpose, subject, expiry):
        digest = hmac.new(self._key, f"{purpose}\x00{subject}\x00{expiry}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


APPROVE_SOLUTION, REFUSE_SOLUTION = "approve-solution", "refuse-solution"
UNSUBSCRIBE = "unsubscribe"  # a copied address stops the mail of one ticket (List-Unsubscribe)


def unsubscribe_subject(ticket_id, address):
    """What an unsubscribe link is bound to: the ticket and the copied address."""
    return f"{ticket_id}|{address.lower()}"


def decision_subject(ticket_id, recipient, resolution):
    """What a solution-decision link is bound to: the ticket, the recipient, the resolution event."""
    return f"{ticket_id}|{recipient.lower()}|{int(resolution)}"
