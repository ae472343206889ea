"""Who may see a ticket: the one policy every ticket read and write goes through.

A ticket the principal may not see is reported as missing (404), exactly like a ticket that does
not exist, so its existence is not revealed either.
"""
SEE_ALL = frozenset({"supervisor", "admin", "system"})


def can_see(principal, ticket):
    role = principal["role"]
    if role in SEE_ALL:
        return True
    if role == "agent":
        return ticket.department is not None and ticket.department in principal["departments"]
    if ticket.requester_id == principal["user_id"]:
        return True
    company = principal.get("company_id")
    if company and ticket.company_id == company and (principal.get("is_group") or principal.get("company_admin")):
        return True
    return principal["email"].lower() in {address.lower() for address in ticket.cc}
