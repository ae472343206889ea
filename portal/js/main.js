// The portal: a client of /api/v1 served by the gateway on the same origin. One shell
// (index.html) for every path; this router draws the page the path names.
"use strict";

import {app, applyPreferences, chooseLanguage, loadSite, navigate, refreshMe} from "./app.js";
import {h, replace} from "./dom.js";
import {language, t} from "./i18n.js";
import {post} from "./api.js";
import * as accounts from "./pages/accounts.js";
import * as home from "./pages/home.js";
import * as profile from "./pages/profile.js";
import * as newTicket from "./pages/new-ticket.js";
import * as tickets from "./pages/tickets.js";
import * as ticket from "./pages/ticket.js";
import * as solution from "./pages/solution.js";

const ROUTES = [
  [/^\/$/, home.render],
  [/^\/login$/, accounts.login],
  [/^\/register$/, accounts.register],
  [/^\/verify-email$/, accounts.verifyEmail],
  [/^\/forgot-password$/, accounts.forgotPassword],
  [/^\/reset-password$/, accounts.resetPassword],
  [/^\/password$/, accounts.changePassword],
  [/^\/profile$/, profile.render],
  [/^\/tickets$/, tickets.render],
  [/^\/tickets\/new$/, newTicket.render],
  [/^\/tickets\/([^/]+)$/, ticket.render],
  [/^\/solution$/, solution.render],
];

function header() {
  const me = app.me;
  const links = me && !me.must_change_password
    ? [["/tickets/new", t("nav.new_ticket")], ["/tickets", t("nav.my_tickets")], ["/profile", me.name || t("nav.profile")]]
    : me ? [] : [["/login", t("nav.login")], ["/register", t("nav.register")]];
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
      h("ul", {}, links.map(([href, text]) => h("li", {}, h("a", {href, "aria-current": location.pathname === href ? "page" : null}, text))),
        logout ? h("li", {}, logout) : null)),
    languageForm,
  ];
}

function footer() {
  return h("p", {}, app.me ? t("footer.logged_in", {name: app.me.name || app.me.email}) : t("footer.anonymous"));
}

async function render({focus = false} = {}) {
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
  if (!page) return; // the page navigated elsewhere
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
