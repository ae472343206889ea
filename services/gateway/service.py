"""Gateway entrypoints: HTTP in, RPC to the owning service, JSON out. Every endpoint is closed to
anonymous callers unless declared `public=True`."""
import base64
import hashlib

import eventlet
from nameko.dependency_providers import Config
from nameko.exceptions import UnknownService
from werkzeug.wrappers import Response

from helpdesk import catalog, contracts, i18n
from helpdesk.extensions import Metrics, RpcProxy
from helpdesk.problems import problem

from . import health, portal
from .canned import Canned
from .live import BrokerUnavailable, Live, Subscription, presence_notice, stream
from .auth import Auth

from .http import (SESSION_COOKIE, ApiError, byte_range, call, caller_language, content_disposition, http, idempotency_key,
                   if_match, json_response, query_args, read_exactly, read_json, unavailable, validate)
from .openapi import build_spec

SERVICES = ("identity", "tickets", "routing", "sla", "content", "notifier", "notifier_inbound")
HEALTH_TIMEOUT = 3
STAFF_ADMIN = {"admin"}
STAFF = {"agent", "supervisor", "admin"}
SUPERVISORS = {"supervisor", "admin"}


def live_session(token):
    """Which session a stream belongs to, without keeping its token."""
    return hashlib.sha256(token.encode()).hexdigest() if token else None


class GatewayService:
    name = "gateway"
    config = Config()
    metrics = Metrics()  # helpdesk.metrics: /metrics and /healthz on METRICS_PORT
    caller = Auth()
    tickets = RpcProxy("tickets")
    identity = RpcProxy("identity")
    routing = RpcProxy("routing")
    sla = RpcProxy("sla")
    content = RpcProxy("content")
    notifier = RpcProxy("notifier")
    notifier_inbound = RpcProxy("notifier_inbound")  # inbound mail's consumer, in the notifier's process
    live = Live()
    canned = Canned()

    def _body(self, request, schema_class):
        return read_json(request, schema_class, self.config["MAX_REQUEST_BYTES"])

    def _said(self, code, status, request):
        """A success answer that only says something (202 "mail on its way"), worded like errors:
        in the caller's language, with its stable code."""
        return json_response({"code": code, "message": i18n.text(code, None, caller_language(request))}, status)

    def _session_response(self, session, status=200):
        response = json_response(session, status)
        response.set_cookie(
            SESSION_COOKIE, session["token"], httponly=True, samesite="Lax", path="/",
            secure=self.config["PUBLIC_URL"].startswith("https://"),
            max_age=None,
        )
        return response

    # -- accounts (public) --------------------------------------------------------------------
    @http("POST", "/api/v1/auth/register", public=True)
    def register(self, request):
        call(self.identity.register, self._body(request, contracts.RegisterSchema), self.caller.ip)
        return self._said("mail_on_its_way", 202, request)

    @http("POST", "/api/v1/auth/verify-email", public=True)
    def verify_email(self, request):
        """A new account's first confirmation answers with a session (and its cookie)."""
        verified = call(self.identity.verify_email, self._body(request, contracts.TokenSchema),
                        self.caller.ip, self.caller.user_agent)
        if verified.get("session"):
            return self._session_response({**verified["session"], "email": verified["email"]})
        return json_response(verified)

    @http("POST", "/api/v1/auth/resend-verification", public=True)
    def resend_verification(self, request):
        call(self.identity.resend_verification, self._body(request, contracts.EmailOnlySchema), self.caller.ip)
        return self._said("mail_on_its_way", 202, request)

    @http("POST", "/api/v1/auth/login", public=True)
    def login(self, request):
        command = self._body(request, contracts.LoginSchema)
        session = call(self.identity.login, command, self.caller.ip, self.caller.user_agent)
        return self._session_response(session)

    @http("POST", "/api/v1/auth/forgot-password", public=True)
    def forgot_password(self, request):
        call(self.identity.forgot_password, self._body(request, contracts.EmailOnlySchema), self.caller.ip)
        return self._said("mail_on_its_way", 202, request)

    @http("POST", "/api/v1/auth/reset-password", public=True)
    def reset_password(self, request):
        call(self.identity.reset_password, self._body(request, contracts.ResetPasswordSchema))
        return self._said("password_reset_done", 200, request)

    @http("POST", "/api/v1/solution-decisions", public=True)
    def decide_solution_by_link(self, request):
        """The portal's /solution page: a decision from the resolution mail's signed link."""
        ticket = call(self.tickets.decide_by_link, self._body(request, contracts.SolutionDecisionSchema))
        return json_response({"ticket_id": ticket["ticket_id"], "reference": ticket["reference"],
                              "status": ticket["status"]})

    @http("POST", "/api/v1/unsubscribe", public=True)
    def unsubscribe(self, request):
        """RFC 8058 one-click: a mail program posts `List-Unsubscribe=One-Click` to the URL of a copied
        address's List-Unsubscribe header; the signed query is the credential, the body is ignored."""
        args = request.args
        scope = args.get("ticket") or args.get("scope") or ""  # a ticket's id, or "status"
        done = call(self.notifier.unsubscribe, scope, args.get("address", ""), args.get("token", ""))
        return json_response({"unsubscribed": True, "ticket_id": done["ticket_id"]})

    # -- the caller's own account -------------------------------------------------------------
    @http("POST", "/api/v1/auth/logout")
    def logout(self, request):
        self.caller.principal(allow_password_change=True)
        call(self.identity.logout, self.caller.token)
        self.caller.forget_session()
        self.live.end_session(live_session(self.caller.token))
        response = Response(status=204)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @http("GET", "/api/v1/auth/session", public=True)
    def current_session(self, request):
        """Who this browser is logged in as, or nobody: 200 either way, so a page can ask without
        an error (GET /api/v1/me answers 401 to strangers). A dead session's cookie is dropped."""
        if self.caller.token is None:
            return json_response({"user": None})
        try:
            principal = self.caller.principal(allow_password_change=True)
        except ApiError as exc:
            if exc.status != 401:
                raise
            response = json_response({"user": None})
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response
        return json_response({"user": call(self.identity.get_profile, principal)})

    @http("GET", "/api/v1/me")
    def me(self, request):
        principal = self.caller.principal(allow_password_change=True)
        return json_response(call(self.identity.get_profile, principal))

    @http("PATCH", "/api/v1/me")
    def update_me(self, request):
        principal = self.caller.principal()
        command = self._body(request, contracts.ProfileUpdateSchema)
        return json_response(call(self.identity.update_profile, principal, command))

    @http("POST", "/api/v1/me/password")
    def change_password(self, request):
        principal = self.caller.principal(allow_password_change=True)
        command = self._body(request, contracts.ChangePasswordSchema)
        session = call(self.identity.change_password, principal, command, self.caller.ip, self.caller.user_agent)
        self.caller.forget_session()
        return self._session_response(session)

    @http("POST", "/api/v1/me/email")
    def change_email(self, request):
        principal = self.caller.principal()
        command = self._body(request, contracts.EmailChangeSchema)
        call(self.identity.request_email_change, principal, command)
        return self._said("email_change_sent", 202, request)

    # -- administration -----------------------------------------------------------------------
    @http("POST", "/api/v1/admin/companies")
    def create_company(self, request):
        principal = self.caller.principal(roles=STAFF_ADMIN)
        command = self._body(request, contracts.CreateCompanySchema)
        return json_response(call(self.identity.create_company, principal, command), 201)

    @http("GET", "/api/v1/admin/companies")
    def list_companies(self, request):
        principal = self.caller.principal(roles=STAFF_ADMIN)
        return json_response({"items": call(self.identity.list_companies, principal)})

    @http("POST", "/api/v1/admin/users")
    def create_user(self, request):
        principal = self.caller.principal(roles=STAFF_ADMIN)
        command = self._body(request, contracts.CreateUserSchema)
        return json_response(call(self.identity.create_user, principal, command), 201)

    @http("PATCH", "/api/v1/admin/users/<string:user_id>")
    def update_user(self, request, user_id):
        principal = self.caller.principal(roles=STAFF_ADMIN)
        command = self._body(request, contracts.UpdateUserSchema)
        return json_response(call(self.identity.update_user, principal, user_id, command))

    @http("GET", "/api/v1/admin/users")
    def list_users(self, request):
        principal = self.caller.principal(roles=STAFF_ADMIN)
        query = query_args(request, contracts.UserFiltersSchema)
        return json_response({"items": call(self.identity.list_users, principal, query.get("company_id"))})

    # -- tickets ------------------------------------------------------------------------------
    @http("GET", "/api/v1/routing/preview", public=True)
    def routing_preview(self, request):
        """The ticket form, before sending: where a ticket with these answers would go, and why
        (routing's rules; an unknown department, type, service or category is a 422)."""
        query = query_args(request, contracts.RoutingPreviewSchema)
        return json_response(call(self.routing.preview, query))

    @http("POST", "/api/v1/tickets")
    def open_ticket(self, request):
        principal = self.caller.principal()
        key = idempotency_key(request)
        ticket = call(self.tickets.open_ticket, principal, self._body(request, contracts.OpenTicketSchema), key)
        return self._ticket_response(ticket, 201, location=f"/api/v1/tickets/{ticket['ticket_id']}")

    @http("GET", "/api/v1/tickets")
    def list_tickets(self, request):
        principal = self.caller.principal()
        filters = query_args(request, contracts.ListFiltersSchema)
        return json_response(call(self.tickets.list_tickets, principal, filters))

    @http("GET", "/api/v1/queues/<string:department>")
    def department_queue(self, request, department):
        principal = self.caller.principal(roles=STAFF)
        filters = query_args(request, contracts.QueueFiltersSchema)
        page = call(self.tickets.department_queue, principal, department, filters)
        due = self._due_times([item["ticket_id"] for item in page["items"]])
        for item in page["items"]:
            item["sla"] = due.get(item["ticket_id"])
        return json_response(page)

    @http("GET", "/api/v1/people")
    def find_people(self, request):
        """Staff look for a customer (to open a ticket for one who phoned or wrote) or a colleague."""
        principal = self.caller.principal(roles=STAFF)
        return json_response({"items": call(self.identity.find_people, principal,
                                            query_args(request, contracts.PeopleFiltersSchema))})

    @http("GET", "/api/v1/admin/routing")
    def routing_rules(self, request):
        """The routing rules, strategies and shifts in force, read-only: routing.yaml changes them."""
        principal = self.caller.principal(roles=SUPERVISORS)
        return json_response(call(self.routing.rules, principal))

    @http("GET", "/api/v1/canned-replies")
    def canned_replies(self, request):
        """The console's ready-made answers for a department's tickets, in es and en (replies.yaml)."""
        self.caller.principal(roles=STAFF)
        wanted = query_args(request, contracts.CannedRepliesQuerySchema)
        if wanted["department"] not in self.canned.departments:
            raise ApiError(422, "invalid_input", "invalid_fields",
                           fields={"department": [problem("unknown_department", department=wanted["department"],
                                                          choices=", ".join(sorted(self.canned.departments)))]})
        return json_response({"items": self.canned.of(wanted["department"])})

    @http("GET", "/api/v1/agents")
    def agents(self, request):
        """Supervisors' view of the staff: each one's departments and open tickets, and what
        nobody took yet per department."""
        principal = self.caller.principal(roles=SUPERVISORS)
        staff = call(self.identity.find_people, principal, {"kind": "staff", "limit": 100})
        loads = call(self.tickets.loads, principal)
        return json_response({
            "agents": [{**person, "open_tickets": loads["agents"].get(person["user_id"], 0)} for person in staff],
            "unassigned": loads["unassigned"]})

    @http("GET", "/api/v1/tickets/<string:ticket_id>")
    def get_ticket(self, request, ticket_id):
        principal = self.caller.principal()
        ticket = call(self.tickets.get_ticket, principal, ticket_id)
        if principal["role"] in STAFF:
            ticket["sla"] = self._due_times([ticket["ticket_id"]]).get(ticket["ticket_id"])
            ticket["requester"] = self._contact_card(principal, ticket["requester_id"])
        return self._ticket_response(ticket)

    def _contact_card(self, principal, user_id):
        """The requester's phone, language and company, when identity answers (as _due_times)."""
        try:
            return call(self.identity.contact_card, principal, user_id, timeout=2)
        except (ApiError, UnknownService):
            return None

    def _due_times(self, ticket_ids):
        """SLA due times, when the sla service answers; a view without them beats no view."""
        try:
            return call(self.sla.due_times, ticket_ids, timeout=2)
        except (ApiError, UnknownService):
            return {}

    @http("POST", "/api/v1/tickets/<string:ticket_id>/<string:action>")
    def ticket_action(self, request, ticket_id, action):
        """Follow-ups and staff operations: one endpoint per action of contracts.TICKET_ACTIONS."""
        principal = self.caller.principal()
        if action not in contracts.TICKET_ACTIONS:
            raise ApiError(404, "not_found", "no_action", {"id": action})
        command = self._body(request, contracts.TICKET_ACTIONS[action])
        ticket = call(self.tickets.act, principal, ticket_id, action, command, if_match(request), idempotency_key(request))
        return self._ticket_response(ticket)

    @http("GET", "/api/v1/tickets/<string:ticket_id>/attachments/<string:attachment_id>")
    def download_attachment(self, request, ticket_id, attachment_id):
        principal = self.caller.principal()
        found = call(self.tickets.get_attachment, principal, ticket_id, attachment_id)
        return Response(base64.b64decode(found["content_base64"]), headers={
            "Content-Type": found["content_type"],
            "Content-Disposition": content_disposition(found["filename"]),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        })

    # -- live updates (live.py) ------------------------------------------------------------------
    @http("GET", "/api/v1/live")
    def live_updates(self, request):
        """Server-sent events: what the page shows changed. Access is checked here, once per
        stream, by the services that own it; the stream itself carries no ticket's content."""
        principal = self.caller.principal()
        wanted = {name: request.args.getlist(name) for name in request.args}  # any other is refused
        wanted = validate(contracts.LiveSubscriptionSchema, wanted)
        if wanted["queue"] and principal["role"] not in STAFF:
            raise ApiError(403, "forbidden", "live_only_staff_follow_queues")
        placed = []
        for department in dict.fromkeys(wanted["queue"]):
            page = call(self.tickets.department_queue, principal, department, {"limit": 100})
            placed += [(item["ticket_id"], department) for item in page["items"]]
        for ticket_id in dict.fromkeys(wanted["ticket"]):
            call(self.tickets.get_ticket, principal, str(ticket_id))  # 404 unless the caller may see it
        subscription = Subscription(principal, [str(t) for t in wanted["ticket"]], wanted["queue"],
                                    session=live_session(self.caller.token))
        try:
            self.live.follow(subscription, placed)
        except BrokerUnavailable:
            raise unavailable("temporarily_unavailable")
        request.environ["eventlet.minimum_write_chunk_size"] = 0  # each event at once, not 4 KB at a time
        return Response(stream(subscription, self.live), mimetype="text/event-stream", direct_passthrough=True,
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @http("POST", "/api/v1/tickets/<string:ticket_id>/presence")
    def presence(self, request, ticket_id):
        """A colleague's console says who is viewing or replying to the ticket (live.py)."""
        principal = self.caller.principal()
        if principal["role"] not in STAFF:
            raise ApiError(403, "forbidden", "presence_only_staff")
        command = self._body(request, contracts.PresenceSchema)
        ticket = call(self.tickets.get_ticket, principal, ticket_id)
        self.live.announce(presence_notice(principal, ticket["ticket_id"], command["activity"], command.get("answer", False)))
        return Response(status=204)

    def _ticket_response(self, ticket, status=200, location=None):
        headers = {"ETag": f'"{ticket["version"]}"'}
        if location:
            headers["Location"] = location
        return json_response(ticket, status, headers=headers)

    # -- content: announcements and the network status (services/content) ---------------------
    @http("GET", "/api/v1/announcements", public=True)
    def list_announcements(self, request):
        """Published announcements anyone may read, pinned first then the newest; staff may ask
        for those of a status (drafts, archived)."""
        query = query_args(request, contracts.ContentListSchema)
        return json_response({"items": call(self.content.announcements, self.caller.principal_if_any(), query)})

    @http("GET", "/api/v1/announcements/<string:announcement_id>", public=True)
    def get_announcement(self, request, announcement_id):
        return json_response(call(self.content.announcement, self.caller.principal_if_any(), announcement_id))

    @http("POST", "/api/v1/announcements")
    def draft_announcement(self, request):
        principal = self.caller.principal(roles=STAFF)
        command = self._body(request, contracts.AnnouncementSchema)
        return json_response(call(self.content.draft_announcement, principal, command), 201)

    @http("PATCH", "/api/v1/announcements/<string:announcement_id>")
    def edit_announcement(self, request, announcement_id):
        principal = self.caller.principal(roles=STAFF)
        command = self._body(request, contracts.AnnouncementChangeSchema)
        return json_response(call(self.content.edit_announcement, principal, announcement_id, command))

    @http("POST", "/api/v1/announcements/<string:announcement_id>/publish")
    def publish_announcement(self, request, announcement_id):
        principal = self.caller.principal(roles=STAFF)
        command = self._body(request, contracts.PublishSchema)
        return json_response(call(self.content.publish_announcement, principal, announcement_id, command))

    @http("POST", "/api/v1/announcements/<string:announcement_id>/archive")
    def archive_announcement(self, request, announcement_id):
        principal = self.caller.principal(roles=STAFF)
        return json_response(call(self.content.archive_announcement, principal, announcement_id))

    # -- recommended downloads: files streamed in pieces, never held whole -----------------------
    @http("GET", "/api/v1/downloads", public=True)
    def list_downloads(self, request):
        """Published downloads the reader may see (everyone's, and a customer's services'), pinned
        first then the newest; staff may ask for those of a status."""
        query = query_args(request, contracts.ContentListSchema)
        return json_response({"items": call(self.content.downloads, self.caller.principal_if_any(), query)})

    @http("GET", "/api/v1/downloads/<string:download_id>", public=True)
    def get_download(self, request, download_id):
        return json_response(call(self.content.download, self.caller.principal_if_any(), download_id))

    @http("POST", "/api/v1/downloads")
    def add_download(self, request):
        principal = self.caller.principal(roles=STAFF)
        command = self._body(request, contracts.DownloadSchema)
        return json_response(call(self.content.add_download, principal, command), 201)

    @http("PATCH", "/api/v1/downloads/<string:download_id>")
    def edit_download(self, request, download_id):
        principal = self.caller.principal(roles=STAFF)
        command = self._body(request, contracts.DownloadChangeSchema)
        return json_response(call(self.content.edit_download, principal, download_id, command))

    @http("POST", "/api/v1/downloads/<string:download_id>/publish")
    def publish_download(self, request, download_id):
        principal = self.caller.principal(roles=STAFF)
        return json_response(call(self.content.publish_download, principal, download_id))

    @http("POST", "/api/v1/downloads/<string:download_id>/archive")
    def archive_download(self, request, download_id):
        principal = self.caller.principal(roles=STAFF)
        return json_response(call(self.content.archive_download, principal, download_id))

    @http("PUT", "/api/v1/downloads/<string:download_id>/file")
    def upload_download_file(self, request, download_id):
        """The body is the file (any Content-Type), `?name=` its name: read and sent on to the
        content service piece by piece, so a 50 MB file never sits in this process whole."""
        principal = self.caller.principal(roles=STAFF)
        name = query_args(request, contracts.DownloadFileQuerySchema)["name"]
        size = request.content_length
        if size is None and request.headers.get("Transfer-Encoding"):
            raise ApiError(411, "length_required", "send_content_length")  # its size is judged before it is read
        size = size or 0  # neither header: no body (RFC 9112, 6.3)
        upload = call(self.content.start_upload, principal, download_id, name, size)
        piece_bytes = upload["piece_bytes"]
        for index in range(upload["pieces"]):
            wanted = min(piece_bytes, size - index * piece_bytes)
            piece = read_exactly(request.stream, wanted)
            if len(piece) < wanted:
                raise ApiError(400, "incomplete_body", "body_shorter_than_length", {"size": size})
            call(self.content.upload_piece, principal, upload["file_id"], index, base64.b64encode(piece).decode("ascii"))
        return json_response(call(self.content.finish_upload, principal, download_id, upload["file_id"]))

    @http("GET", "/api/v1/downloads/<string:download_id>/file", public=True)
    def fetch_download(self, request, download_id):
        """The file, streamed piece by piece (a Range resumes it: 206), or a redirect to the
        link; each fetch from the start counts once."""
        principal = self.caller.principal_if_any()
        asked = byte_range(request.headers.get("Range"))
        fresh = request.method == "GET" and (asked is None or asked[0] == 0)
        resumed_if = request.headers.get("If-Range") if request.method == "GET" and not fresh else None
        opened = call(self.content.open_file, principal, download_id, fresh, resumed_if)
        if "link" in opened:
            return Response(status=302, headers={"Location": opened["link"], "Cache-Control": "no-store"})
        file, piece_bytes = opened["file"], opened["piece_bytes"]
        etag = f'"{file["sha256"]}"'
        if request.headers.get("If-Range") not in (None, etag):
            asked = None  # the client's part is of another file: it gets the whole of this one
        start, end, status = 0, file["size"] - 1, 200
        if asked is not None:
            first, last = asked
            if first is None:  # the last `last` bytes
                first, last = max(0, file["size"] - last), file["size"] - 1
            if first >= file["size"]:
                raise ApiError(416, "range_not_satisfiable", "range_not_satisfiable", {"size": file["size"]},
                               headers={"Content-Range": f"bytes */{file['size']}"})
            start, end, status = first, min(file["size"] - 1, last if last is not None else file["size"] - 1), 206
        headers = {"Content-Type": file["type"], "Content-Disposition": content_disposition(file["name"]),
                   "Content-Length": str(end - start + 1), "ETag": etag, "Accept-Ranges": "bytes",
                   "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
                   "Cache-Control": "private, no-cache"}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end}/{file['size']}"
        body = [] if request.method == "HEAD" else self._file_pieces(principal, download_id, file["id"], piece_bytes,
                                                                     start, end)
        return Response(body, status=status, headers=headers, direct_passthrough=True)

    def _file_pieces(self, principal, download_id, file_id, piece_bytes, start, end):
        """The bytes start..end of a file, one piece asked at a time, as the client reads them."""
        for index in range(start // piece_bytes, end // piece_bytes + 1):
            data = base64.b64decode(call(self.content.file_piece, principal, download_id, file_id, index))
            offset = index * piece_bytes
            yield data[max(0, start - offset):end - offset + 1]

    @http("GET", "/api/v1/search", public=True)
    def search(self, request):
        """The home page's Buscar: announcements, downloads, incidents and maintenance anyone may
        read (a customer also those for their services), and for a logged-in customer their own tickets (as their list finds them), each with the page
        that shows it (staff search tickets in the console's queues)."""
        query = query_args(request, contracts.SearchQuerySchema)
        limit = int(query.get("limit") or 10)
        principal = self.caller.principal_if_any()
        customer = principal is not None and principal["role"] == "customer"
        found = call(self.content.search, query["q"], limit, principal.get("services", []) if customer else [])
        tickets = []
        if customer and not principal.get("must_change_password"):
            listed = call(self.tickets.list_tickets, principal, {"text": query["q"], "limit": min(limit, 10)})
            tickets = [{"kind": "ticket", "id": item["ticket_id"], "reference": item["reference"],
                        "title": item["title"], "status": item["status"], "at": item.get("updated_at"),
                        "path": f"/tickets/{item['ticket_id']}"} for item in listed["items"]]
        return json_response({"items": tickets + found})

    @http("GET", "/api/v1/status", public=True)
    def network_status(self, request):
        """Estado de red: every component's state now, the incidents open or resolved this week,
        the maintenance windows on or to come."""
        return json_response(call(self.content.status), headers={"Cache-Control": "no-cache"})

    @http("GET", "/api/v1/status/history", public=True)
    def status_history(self, request):
        """The last 90 days (or `days`) of every component: its uptime and each day it had an
        incident, with the worst impact and its minutes, computed from the incidents."""
        query = query_args(request, contracts.HistoryQuerySchema)
        return json_response(call(self.content.history, int(query.get("days") or 90)),
                             headers={"Cache-Control": "no-cache"})

    @http("GET", "/api/v1/status/subscription")
    def status_subscription(self, request):
        """The services whose status changes the customer is mailed."""
        principal = self.caller.principal(roles={"customer"})
        return json_response(call(self.notifier.status_subscription, principal))

    @http("PUT", "/api/v1/status/subscription")
    def subscribe_status(self, request):
        """A customer chooses the services whose status changes they are mailed (none: no more);
        each mail has a one-click link to stop."""
        principal = self.caller.principal(roles={"customer"})
        command = self._body(request, contracts.StatusSubscriptionSchema)
        known = sorted(catalog.load(self.config).services)
        return json_response(call(self.notifier.subscribe_status, principal, command["services"], known))

    @http("GET", "/api/v1/status/summary.json", public=True)
    def statuspage_summary(self, request):
        """The status in the shape of Atlassian Statuspage's public summary (v2), for status-page
        clients and widgets; texts in the caller's language (Accept-Language, or ?lang=)."""
        language = self._feed_language(request)
        settings = self.config.get("PORTAL") or {}
        page = {"id": "helpdesk", "name": settings.get("provider_name") or "Helpdesk",
                "url": self.config["PUBLIC_URL"].rstrip("/"), "time_zone": self.config.get("DEFAULT_TIME_ZONE") or "Europe/Madrid"}
        return json_response(call(self.content.statuspage, language, page), headers={"Cache-Control": "no-cache"})

    @http("GET", "/feeds/<any('announcements', 'status'):kind>.atom", public=True)
    def atom_feed(self, request, kind):
        """Atom feeds of the announcements and of the network status (RFC 4287)."""
        provider = (self.config.get("PORTAL") or {}).get("provider_name") or "Helpdesk"
        xml = call(self.content.feed, kind, self._feed_language(request), self.config["PUBLIC_URL"].rstrip("/"), provider)
        return Response(xml, mimetype="application/atom+xml", headers={
            "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})

    @staticmethod
    def _feed_language(request):
        asked = request.args.get("lang")
        return asked if asked in contracts.LANGUAGES else caller_language(request)

    @http("GET", "/api/v1/status/incidents", public=True)
    def open_incidents(self, request):
        """The open incidents of a service (`?service=`): the new ticket form suggests following one."""
        query = query_args(request, contracts.ServiceQuerySchema)
        return json_response({"items": call(self.content.open_incidents_of, query["service"])})

    @http("GET", "/api/v1/incidents/<string:incident_id>", public=True)
    def get_incident(self, request, incident_id):
        return json_response(call(self.content.incident, self.caller.principal_if_any(), incident_id))

    @http("POST", "/api/v1/incidents")
    def declare_incident(self, request):
        principal = self.caller.principal(roles=STAFF)
        command = self._body(request, contracts.IncidentSchema)
        return json_response(call(self.content.declare_incident, principal, command), 201)

    @http("POST", "/api/v1/incidents/<string:incident_id>/updates")
    def update_incident(self, request, incident_id):
        principal = self.caller.principal(roles=STAFF)
        command = self._body(request, contracts.IncidentUpdateSchema)
        return json_response(call(self.content.update_incident, principal, incident_id, command))

    @http("POST", "/api/v1/incidents/<string:incident_id>/tickets")
    def link_tickets(self, request, incident_id):
        """Staff link the tickets an incident caused; each must be one they may see (404 names
        the first that is not), as the tickets service answers."""
        principal = self.caller.principal(roles=STAFF)
        command = self._body(request, contracts.LinkTicketsSchema)
        found = [call(self.tickets.get_ticket, principal, str(ticket_id)) for ticket_id in dict.fromkeys(command["tickets"])]
        tickets = [{"ticket_id": t["ticket_id"], "reference": t["reference"], "title": t["title"]} for t in found]
        return json_response(call(self.content.link_tickets, principal, incident_id, tickets))

    @http("POST", "/api/v1/maintenances")
    def schedule_maintenance(self, request):
        principal = self.caller.principal(roles=STAFF)
        command = self._body(request, contracts.MaintenanceSchema)
        return json_response(call(self.content.schedule_maintenance, principal, command), 201)

    @http("POST", "/api/v1/maintenances/<string:maintenance_id>/cancel")
    def cancel_maintenance(self, request, maintenance_id):
        principal = self.caller.principal(roles=STAFF)
        return json_response(call(self.content.cancel_maintenance, principal, maintenance_id))

    # -- operations ---------------------------------------------------------------------------
    @http("GET", "/api/v1/health", public=True)
    def health(self, request):
        """Every process of the system, and the relays' and consumers' lag (services/gateway/health.py)."""
        replies, statuses, relays, consumers = {}, {}, {}, {}
        for name in SERVICES:
            try:
                replies[name] = getattr(self, name).ping.call_async()
            except Exception:  # UnknownService: nobody consumes its RPC queue
                statuses[name] = "down"
        inbound = health.inbound_address(self.config)
        probe = eventlet.spawn(health.probe_inbound, inbound, HEALTH_TIMEOUT) if inbound else None
        for name, reply in replies.items():
            try:
                with eventlet.Timeout(HEALTH_TIMEOUT):
                    answer = reply.result()
            except eventlet.Timeout:
                statuses[name] = "timeout"
            except Exception:
                statuses[name] = "down"
            else:
                statuses[name] = answer["status"]
                relays.update({f"{name}.{relay}": lag for relay, lag in (answer.get("relays") or {}).items()})
                consumers.update({lag["queue"]: {"waiting": lag["waiting"], "lag_seconds": lag["lag_seconds"]}
                                  for lag in (answer.get("consumers") or {}).values()})
        if probe is not None:
            statuses[health.INBOUND] = probe.wait()
        max_wait, max_consumer_lag = health.settings(self.config)
        body, status = health.judge(statuses, relays, max_wait, consumers, max_consumer_lag)
        return json_response(body, status)

    @http("GET", "/api/v1/dashboard")
    def dashboard(self, request):
        """The supervisors' dashboard: figures per day and department (sla's read model,
        services/sla/dashboard.py); `since`/`until` default to the last 30 days (the sla service
        knows today in the provider's time zone and checks the range with its defaults)."""
        self.caller.principal(roles=SUPERVISORS)
        query = query_args(request, contracts.DashboardQuerySchema)
        return json_response(call(self.sla.dashboard, query.get("since"), query.get("until")))

    @http("GET", "/api/v1/openapi.json", public=True)
    def openapi(self, request):
        return json_response(build_spec(self.config["PUBLIC_URL"]))

    @http("GET,POST,PUT,PATCH,DELETE", "/api/<path:rest>", public=True)
    def unknown_api_path(self, request, rest):
        raise ApiError(404, "not_found", "no_endpoint", {"method": request.method, "path": f"/api/{rest}"})

    # -- the portal: one page shell, its assets, and what it reads before anyone logs in ----------
    @http("GET", "/api/v1/site", public=True)
    def site(self, request):
        """The provider's white label and the portal's settings: what a client needs to draw the
        home page before anyone logs in."""
        settings = self.config.get("PORTAL") or {}
        return json_response({
            "provider_name": settings.get("provider_name") or "Helpdesk",
            "logo_url": settings.get("logo_url") or "/portal/logo.svg",
            "ticket_form": settings.get("ticket_form") or "both",
            "languages": list(contracts.LANGUAGES),
            "default_language": "es",
            "time_zone": self.config.get("DEFAULT_TIME_ZONE") or "Europe/Madrid",
            "attachment": {"max_bytes": contracts.ATTACHMENT_MAX_BYTES,
                           "extensions": list(contracts.ATTACHMENT_EXTENSIONS)},
            "download": {"max_bytes": int(self.config.get("DOWNLOAD_MAX_BYTES") or 50 * 2**20)},
            "features": {"announcements": True, "downloads": True, "network_status": True},
        }, headers={"Cache-Control": "no-cache"})

    @http("GET", "/api/v1/catalog", public=True)
    def public_catalog(self, request):
        """Departments, services, ITIL types and categories, urgencies: codes with es/en labels."""
        return json_response(catalog.public_view(self.config), headers={"Cache-Control": "no-cache"})

    @http("GET", "/<any(" + ", ".join(f"'{p}'" for p in portal.PAGES) + "):page>", public=True)
    def portal_page(self, request, page):
        return portal.shell()

    @http("GET", "/tickets/<string:ticket_id>", public=True)
    def ticket_page(self, request, ticket_id):
        """Where every mail links (and /tickets/new): the page reads the ticket through the API."""
        return portal.shell()

    @http("GET", "/console/<any(" + ", ".join(f"'{p}'" for p in portal.CONSOLE_PAGES) + "):page>", public=True)
    def console_page(self, request, page):
        """The staff console's pages of their own (/console itself is one of portal.PAGES)."""
        return portal.shell()

    @http("GET", "/console/admin/<any(" + ", ".join(f"'{p}'" for p in portal.ADMIN_PAGES) + "):page>", public=True)
    def admin_page(self, request, page):
        """The admins' pages: accounts, companies, and the settings in force (read-only)."""
        return portal.shell()

    @http("GET", "/console/<any('queues', 'tickets'):kind>/<string:name>", public=True)
    def console_item_page(self, request, kind, name):
        """A department's queue, or a ticket's workspace: the page reads it through the API."""
        return portal.shell()

    @http("GET", "/", public=True)
    def home_page(self, request):
        return portal.shell()

    @http("GET", "/<path:unknown>", public=True)
    def unknown_page(self, request, unknown):
        """Any other path: the shell with 404, so the portal says in the user's language that
        there is no such page (rather than a JSON error in a browser tab)."""
        return portal.shell(status=404)

    @http("GET", "/portal/<path:asset>", public=True)
    def portal_asset(self, request, asset):
        return portal.asset(request, asset)
