// The home page of manual 000 (§2.1, Imagen 1): a welcome, the tiles, the login box, the latest
// announcements and the network status (pages/content.js).
"use strict";

import {app} from "../app.js";
import {h} from "../dom.js";
import {t} from "../i18n.js";
import {latestAnnouncements, searchForm, statusSummary} from "./content.js";
import {loginForm} from "./login.js";

const TILES = [
  // [message key, path, icon, shown when]
  ["home.tile.register", "/register", "register", () => !app.me],
  ["home.tile.new_ticket", "/tickets/new", "new-ticket", () => true],
  ["home.tile.my_tickets", "/tickets", "my-tickets", () => true],
  // Shown when the provider has them (GET /api/v1/site's features): never a dead link.
  ["home.tile.announcements", "/announcements", "announcements", () => app.site.features.announcements],
  ["home.tile.downloads", "/downloads", "downloads", () => app.site.features.downloads],
  ["home.tile.network_status", "/network-status", "network-status", () => app.site.features.network_status],
];
const PUBLIC = ["/register", "/announcements", "/downloads", "/network-status"]; // no login needed

export async function render() {
  const tiles = TILES.filter(([, , , shown]) => shown()).map(([key, path, icon]) =>
    h("li", {}, h("a", {href: app.me || PUBLIC.includes(path) ? path : `/login?next=${encodeURIComponent(path)}`,
                        class: "tile"},
      h("span", {class: "tile-icon"}, h("img", {src: `/portal/icons/${icon}.svg`, alt: "", width: 24, height: 24})),
      h("span", {class: "tile-title"}, t(key)),
      h("span", {class: "tile-text"}, t(`${key}.text`)))));
  const aside = app.me
    ? h("section", {class: "panel", "aria-labelledby": "hello"},
        h("h2", {id: "hello"}, t("home.hello", {name: app.me.name})),
        h("p", {}, h("a", {href: "/profile"}, t("nav.profile"))))
    : h("section", {class: "panel", "aria-labelledby": "login-title"},
        h("h2", {id: "login-title"}, t("login.title")), loginForm());
  return {
    title: t("home.title"),
    content: h("div", {class: "home"},
      h("div", {class: "home-main"},
        h("h1", {}, t("home.welcome")),
        h("p", {class: "lead"}, t("home.intro")),
        searchForm(),
        h("ul", {class: "tiles"}, tiles)),
      h("aside", {class: "home-aside"}, aside,
        app.site.features.network_status ? await statusSummary() : null,
        app.site.features.announcements ? await latestAnnouncements() : null)),
  };
}
