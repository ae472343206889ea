"""Who can be mailed, and in which language: the notifier's projection of identity events."""


def project(cur, event):
    data = event.data
    if event.type == "UserRegistered":
        cur.execute(
            "INSERT INTO notifier.contacts (user_id, email, name, language, company_id, is_group, role)"
            " VALUES (%(user_id)s, %(email)s, %(name)s, %(language)s, %(company_id)s, %(is_group)s, %(role)s)"
            " ON CONFLICT (user_id) DO NOTHING", data)
    elif event.type == "EmailChanged":
        cur.execute("UPDATE notifier.contacts SET email = %s WHERE user_id = %s",
                    (data["new_email"], data["user_id"]))
    elif event.type == "ProfileUpdated":
        cur.execute("UPDATE notifier.contacts SET name = %s, language = %s WHERE user_id = %s",
                    (data["name"], data["language"], data["user_id"]))


class Directory:
    """What mail planning may ask about people, within the planning transaction."""

    def __init__(self, cur):
        self.cur = cur

    def contact(self, user_id):
        return find(self.cur, user_id)

    def supervisors(self):
        self.cur.execute("SELECT email, name, language FROM notifier.contacts WHERE role = 'supervisor'"
                         " ORDER BY email")
        return [dict(zip(("email", "name", "language"), row)) for row in self.cur.fetchall()]


def find(cur, user_id):
    cur.execute("SELECT email, name, language, company_id, is_group FROM notifier.contacts"
                " WHERE user_id = %s", (user_id,))
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip(("email", "name", "language", "company_id", "is_group"), row))
