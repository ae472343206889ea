// The portal: a client of /api/v1 served by the gateway on the same origin. One shell
// (index.html) for every path; this router draws the page the path names. A page's module is
// loaded the first time it is needed, so that a page weighs only what it uses (customers never
// download the staff console's). A page may return `cleanup` with its content: it is called when
// the next page is drawn (its live stream closed, its timers and listeners gone).
"use strict";

import {app, applyPreferences, chooseLanguage, isStaff, isSupervisor, loadSite, navigate, refreshMe} from "./app.js";
import {h, replace} from "./dom.js";
import {language, t} from "./i18n.js";
import {post} from "./api.js";

/** The page `name` of the module `path` under pages/, imported when first drawn. */
function lazy(path, name = "render") {
  return async (args) => (await import(`./pages/${path}`))[name](args);
}

const ROUTES = [
  [/^\/$/, lazy("home.js")],
  [/^\/login$/, lazy("login.js", "login")],
  [/^\/register$/, lazy("accounts.js", "register")],
  [/^\/verify-email$/, lazy("accounts.js", "verifyEmail")],
  [/^\/forgot-password$/, lazy("accounts.js", "forgotPassword")],
  [/^\/reset-password$/, lazy("accounts.js", "resetPassword")],
  [/^\/password$/, lazy("accounts.js", "changePassword")],
  [/^\/profile$/, lazy("profile.js")],
  [/^\/tickets$/, lazy("tickets.js")],
  [/^\/tickets\/new$/, lazy("new-ticket.js")],
  [/^\/tickets\/([^/]+)$/, lazy("ticket.js")],
  [/^\/solution$/, lazy("solution.js")],
  [/^\/announcements$/, lazy("content.js", "announcements")],
  [/^\/downloads$/, lazy("content.js", "downloads")],
  [/^\/network-status$/, lazy("content.js", "networkStatus")],
  [/^\/search$/, lazy("content.js", "results")],
  [/^\/console$/, lazy("console.js", "start")],
  [/^\/console\/dashboard$/, lazy("supervision.js", "dashboard")],
  [/^\/console\/agents$/, lazy("supervision.js", "agents")],
  [/^\/console\/new-ticket$/, lazy("console-new-ticket.js", "newTicket")],
  [/^\/console\/content$/, lazy("publish.js", "content")],
  [/^\/console\/admin$/, async () => { navigate("/console/admin/users", {replace: true}); return null; }],
  [/^\/console\/admin\/users$/, lazy("admin.js", "users")],
  [/^\/console\/admin\/companies$/, lazy("admin.js", "companies")],
  [/^\/console\/admin\/settings$/, lazy("admin.js", "settings")],
  [/^\/console\/queues\/([^/]+)$/, lazy("console.js", "queue")],
  [/^\/console\/tickets\/([^/]+)$/, lazy("workspace.js")],
];

function header() {
  const me = app.me;
  const links = me && !me.must_change_password
    ? [isStaff(me) ? ["/console", t("nav.console")] : null,
       isSupervisor(me) ? ["/console/dashboard", t("nav.dashboard")] : null,
       isSupervisor(me) ? ["/console/agents", t("nav.agents")] : null,
       isStaff(me) ? ["/console/content", t("nav.content")] : null,
       me.role === "admin" ? ["/console/admin/users", t("nav.admin")] : null,
       ["/tickets/new", t("nav.new_ticket")], ["/tickets", t("nav.my_tickets")], ["/profile", me.name || t("nav.profile")]]
      .filter(Boolean)
    : me ? [] : [["/login", t("nav.login")], ["/register", t("nav.register")]];
  const own = ["/console/dashboard", "/console/agents", "/console/content"]; // pages of their own, not "in the console"
  const admin = location.pathname.startsWith("/console/admin");
  const current = (href) => (location.pathname === href ? "page"
    : href === "/console/admin/users" && admin ? "true"
    : admin ? null
    : href === "/console" && location.pathname.startsWith("/console/") && !own.includes(location.pathname) ? "true"
    : null);
  const select = h("select", {id: "language-select", name: "language"},
    (app.site.languages || ["es", "en"]).map((code) =>
      h("option", {value: code, selected: code === language(), lang: code}, t(`language.${code}`))));
  const languageForm = h("form", {class: "language", "aria-label": t("language.label")},
    h("label", {for: "language-select"}, t("language.label")), select,
    h("button", {type: "submit"}, t("language.change")));
  languageForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    await chooseLanguage(select.value);
    await app.render({focus: false});
    document.getElementById("language-select").focus();
  });
  const logout = me ? h("button", {type: "button", class: "link", onclick: async () => {
    await post("/api/v1/auth/logout");
    app.me = null;
    await applyPreferences();
    navigate("/");
  }}, t("nav.logout")) : null;
  return [
    h("a", {href: "/", class: "brand"},
      h("img", {src: app.site.logo_url, alt: "", width: 40, height: 40}),
      h("span", {class: "brand-name"}, app.site.provider_name),
      h("span", {class: "brand-tagline"}, t("site.tagline"))),
    h("nav", {"aria-label": t("nav.label")},
      h("ul", {}, links.map(([href, text]) => h("li", {}, h("a", {href, "aria-current": current(href)}, text))),
        logout ? h("li", {}, logout) : null)),
    languageForm,
  ];
}

function footer() {
  return h("p", {}, app.me ? t("footer.logged_in", {name: app.me.name || app.me.email}) : t("footer.anonymous"));
}

let drawing = 0; // which render is the latest: an earlier one still loading is dropped
let leave = null; // the cleanup of the page shown

async function render({focus = false} = {}) {
  const serial = ++drawing;
  if (leave) {
    const done = leave;
    leave = null;
    done();
  }
  const path = location.pathname;
  const match = ROUTES.map(([pattern, page]) => [path.match(pattern), page]).find(([found]) => found);
  const main = document.getElementById("main");
  let page;
  try {
    page = match ? await match[1]({params: match[0].slice(1)}) : {title: t("notfound.title"),
      content: [h("h1", {}, t("notfound.title")), h("p", {}, h("a", {href: "/"}, t("notfound.home")))]};
  } catch (error) {
    console.error(error);
    page = {title: t("error.title"), content: [h("h1", {}, t("error.title")), h("p", {}, t("error.server"))]};
  }
  if (serial !== drawing) { // another render began meanwhile (the page navigated elsewhere, or the user did)
    if (page && page.cleanup) page.cleanup();
    return;
  }
  if (!page) return; // the page navigated elsewhere
  leave = page.cleanup || null;
  document.title = `${page.title} · ${app.site.provider_name}`;
  replace(document.getElementById("skip"), t("nav.skip"));
  replace(document.getElementById("top"), header());
  replace(main, page.content);
  replace(document.getElementById("bottom"), footer());
  const heading = main.querySelector("h1");
  if (heading) heading.setAttribute("tabindex", "-1");
  if (focus) (heading || main).focus();
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/api/") || link.hasAttribute("download")
      || url.pathname.startsWith("/portal/") || (url.pathname === location.pathname && url.hash)) return;
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});
window.addEventListener("popstate", () => render({focus: true}));

app.render = render;
(async () => {
  await loadSite();
  await refreshMe();
  await applyPreferences();
  await render();
})();
