"""Reserved example domains (RFC 2606, RFC 6761): addresses there reach no real mailbox.
Sending to them through a real provider only earns bounces (and, on SES, a worse
reputation), so outside tests the mailer refuses them with a reason instead."""

from __future__ import annotations

RESERVED_SECOND_LEVEL = frozenset({"example.com", "example.net", "example.org"})
RESERVED_TOP_LEVEL = frozenset({"test", "example", "invalid", "localhost"})


def reserved_domain(address: str) -> str | None:
    """The reserved domain of ``address``, or None when it is an ordinary one."""
    domain = address.rpartition("@")[2].strip().rstrip(".").lower()
    labels = domain.split(".")
    if labels[-1] in RESERVED_TOP_LEVEL:
        return domain
    if ".".join(labels[-2:]) in RESERVED_SECOND_LEVEL:
        return domain
    return None


def refusal_reason(domain: str) -> str:
    return (
        f"not sent: {domain} is a reserved example domain that reaches no real mailbox "
        "(set MAILER_ALLOW_RESERVED_DOMAINS=true only in tests)"
    )
